// `TopicReaders`: read_committed readers of whole topics in a simulated world,
// for tests that check what services wrote; and `fold_events`, the state each
// aggregate's event log describes, checking that versions run 1, 2, 3 ...
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/codec/codec.h"
#include "sim/world.h"
#include "tests/support/recording_handler.h"

namespace orderflow::testing_support {

class TopicReaders {
 public:
  // `client` must be a started process of `world`.
  TopicReaders(sim::World& world, sim::Process& client) : world_(world), client_(client) {}

  // Everything committed to `topic`, from the beginning, as it arrives.
  RecordingHandler& read(const std::string& topic) {
    auto& reader = readers_.emplace_back(std::make_unique<RecordingHandler>());
    consumers_.push_back(world_.broker(client_).make_consumer(
        {.group_id = "reader-" + topic, .client_id = "reader"}, *reader));
    consumers_.back()->subscribe({topic});
    return *reader;
  }

 private:
  sim::World& world_;
  sim::Process& client_;
  std::vector<std::unique_ptr<RecordingHandler>> readers_;
  std::vector<std::unique_ptr<core::Consumer>> consumers_;
};

template <core::Decider D>
std::map<std::string, typename D::State> fold_events(const RecordingHandler& reader) {
  std::map<std::string, typename D::State> states;
  for (const auto& r : reader.records) {
    auto decoded = core::decode_event(r.value.value_or(""));
    EXPECT_TRUE(decoded.has_value()) << "an undecodable event at offset " << r.offset.value();
    const auto* event = decoded ? std::get_if<typename D::Event>(&decoded->event) : nullptr;
    if (event == nullptr) continue;
    auto& state = states[decoded->meta.aggregate_id];
    EXPECT_EQ(decoded->meta.version, state.version.next())
        << "versions of " << decoded->meta.aggregate_id;
    state = D::evolve(state, *event);
  }
  return states;
}

}  // namespace orderflow::testing_support
