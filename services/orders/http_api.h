// The orders service's REST API, written against the Http port.
//
//   POST /orders                  place an order (JSON body; Idempotency-Key required)
//   POST /orders/{id}/cancel      cancel it (optional JSON body {"reason": ...})
//   GET  /commands/{key}          what became of a command
//
// Commands are asynchronous: a POST answers 202 once the command is durably on
// `orders.commands`, with the URL of its outcome. The order id of a placement is
// derived from its idempotency key, so a client retry addresses the same order
// and the command processor applies it once. Errors are RFC 7807 problems: 400
// naming the field, 404, 409 for a rejected state change, 413, 415, 503 when the
// broker cannot take the command.
//
// `OutcomeTable` keeps every command outcome: it reads all of `orders.outcomes`
// (read_committed, no group) into memory.
//
// Threading: the instance's executor. Ownership: the API borrows the producer,
// the outcomes and the clock, which the instance owns.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/codec/codec.h"
#include "core/ports/broker.h"
#include "core/ports/clock.h"
#include "core/ports/http.h"
#include "core/ports/log.h"
#include "services/http/api.h"

namespace orderflow::services {

class OutcomeTable final : public core::ConsumerHandler {
 public:
  // Starts reading every partition of `orders.outcomes` from the beginning.
  void start(core::Broker& broker);
  [[nodiscard]] const core::CommandOutcome* find(const std::string& command_id) const;

  void on_assigned(const std::vector<core::TopicPartition>&) override {}
  void on_revoked(const std::vector<core::TopicPartition>&) override {}
  void on_lost(const std::vector<core::TopicPartition>&) override {}
  void on_records(const std::vector<core::ConsumerRecord>& records) override;
  void on_error(const core::Error&) override {}

 private:
  std::unique_ptr<core::Consumer> consumer_;
  std::map<std::string, core::CommandOutcome> outcomes_;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

class OrdersApi final : public core::HttpHandler {
 public:
  OrdersApi(core::Producer& producer, const OutcomeTable& outcomes, core::Clock& clock,
            core::Log& log)
      : producer_(producer), outcomes_(outcomes), clock_(clock), log_(log) {}

  void handle(core::HttpRequest request, core::Respond respond) override;

  [[nodiscard]] static std::vector<RouteSpec> routes();
  // The order a placement with this idempotency key creates.
  [[nodiscard]] static std::string order_id_for(std::string_view idempotency_key);

 private:
  void place(const core::HttpRequest& request, core::Respond respond);
  void cancel(const core::HttpRequest& request, const std::string& order, core::Respond respond);
  void outcome(const std::string& key, const core::Respond& respond) const;
  void submit(const core::CommandMeta& meta, const core::OrderCommand& command,
              core::Respond respond);

  core::Producer& producer_;
  const OutcomeTable& outcomes_;
  core::Clock& clock_;
  core::Log& log_;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace orderflow::services
