// Event-sourced aggregates kept in a state store.
//
// An aggregate's events are stored, encoded in their envelopes, under its id; its
// state is their fold. `execute` is the one way a command reaches a decider in the
// services: decide against the stored state, append the new events, and send each
// to the event topic within the task's unit of work, versioned 1, 2, 3 ... with
// event ids derived from the command id (so a replayed command yields the same
// ids).
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/check.h"
#include "core/codec/codec.h"
#include "core/ports/state_store.h"
#include "core/streams/streams.h"

namespace orderflow::services {

// Length-prefixed concatenation of encoded envelopes.
void append_framed(std::string& log, std::string_view record);
[[nodiscard]] std::vector<std::string_view> split_framed(std::string_view log);

// The aggregate's stored events, decoded. A stored event that no longer decodes is
// an invariant failure: the store only ever holds what this code encoded.
template <core::Decider D>
[[nodiscard]] std::vector<typename D::Event> load_events(const core::StateStore& store,
                                                         const std::string& id) {
  std::vector<typename D::Event> events;
  const auto log = store.get(id);
  if (!log) return events;
  for (std::string_view bytes : split_framed(*log)) {
    auto decoded = core::decode_event(bytes);
    OF_CHECK(decoded.has_value(), "a stored event does not decode");
    const auto* event = std::get_if<typename D::Event>(&decoded->event);
    OF_CHECK(event != nullptr, "a stored event belongs to another aggregate type");
    events.push_back(*event);
  }
  return events;
}

// The fold of one aggregate's stored log. The state is a pure function of the log's
// bytes, so the last fold per aggregate id is remembered with the bytes it came
// from and reused while the stored log is byte for byte the same: a command then
// costs a comparison instead of decoding every event again (a SKU's log grows with
// every order). Per thread, like everything a simulated run touches.
template <core::Decider D>
using Folds = std::map<std::string, std::pair<std::string, typename D::State>, std::less<>>;

template <core::Decider D>
Folds<D>& remembered_folds() {
  thread_local Folds<D> folds;
  return folds;
}

template <core::Decider D>
[[nodiscard]] typename D::State fold_log(const std::string& id, const std::string& log) {
  Folds<D>& folds = remembered_folds<D>();
  auto it = folds.find(id);
  if (it != folds.end() && it->second.first == log) return it->second.second;
  typename D::State state = D::initial();
  for (std::string_view bytes : split_framed(log)) {
    auto decoded = core::decode_event(bytes);
    OF_CHECK(decoded.has_value(), "a stored event does not decode");
    const auto* event = std::get_if<typename D::Event>(&decoded->event);
    OF_CHECK(event != nullptr, "a stored event belongs to another aggregate type");
    state = D::evolve(std::move(state), *event);
  }
  if (it == folds.end()) {
    folds.emplace(id, std::pair{log, state});
  } else {
    it->second = {log, state};
  }
  return state;
}

template <core::Decider D>
[[nodiscard]] typename D::State load(const core::StateStore& store, const std::string& id) {
  const auto log = store.get(id);
  return log ? fold_log<D>(id, *log) : D::initial();
}

struct Target {
  std::string topic;  // where the events go
  std::string key;    // their record key
};

// Decides `command` against the aggregate `id` in `store`; on acceptance appends
// and sends the new events. Returns the aggregate's version after the command.
template <core::Decider D>
std::expected<core::AggregateVersion, core::Rejection> execute(
    core::TaskContext& ctx, core::StateStore& store, const std::string& id,
    const typename D::Command& command, const core::CommandMeta& meta, const Target& target) {
  std::string log = store.get(id).value_or("");
  typename D::State state = log.empty() ? D::initial() : fold_log<D>(id, log);
  auto decision = D::decide(state, command, ctx.now());
  if (!decision) return std::unexpected(decision.error());
  for (const auto& event : *decision) {
    state = D::evolve(std::move(state), event);
    const core::EventMeta event_meta{
        core::EventId{meta.command_id + "/" + std::to_string(state.version.value())},
        id,
        state.version,
        ctx.now(),
        meta.command_id,
        meta.correlation_id};
    std::string bytes = core::encode_event(event_meta, event);
    append_framed(log, bytes);
    ctx.send({target.topic, target.key, std::move(bytes), {}, std::nullopt});
  }
  if (!decision->empty()) {
    store.put(id, log);
    remembered_folds<D>().insert_or_assign(id, std::pair{std::move(log), state});
  }
  return state.version;
}

}  // namespace orderflow::services
