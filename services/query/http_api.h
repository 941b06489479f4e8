// The query service's REST API over its projections.
//
//   GET /orders/{id}?min_version=N&wait_ms=M   the order view; waits up to M ms
//                                              (at most 30 s) for version N, so a
//                                              client reads its own writes
//   GET /customers/{id}/orders                 a customer's orders and total
//   GET /stats/orders-per-minute               orders placed per minute
//
// When the wait runs out first, the view is returned as it is (its `version`
// tells the client it is older than asked); an unknown order is 404 after the
// wait. Any instance answers any read: every instance keeps the whole model.
//
// Threading: the instance's executor. Ownership: borrows the stores, the watch
// and the scheduler of the instance.
#pragma once

#include <functional>
#include <list>
#include <memory>
#include <string>
#include <vector>

#include "core/ports/http.h"
#include "core/ports/scheduler.h"
#include "services/http/api.h"
#include "services/query/projections.h"

namespace orderflow::services {

class QueryApi final : public core::HttpHandler {
 public:
  using Stores = std::function<const core::StateStore&(const std::string& name, int partition)>;

  QueryApi(Stores stores, int partitions, ProjectionWatch& watch, core::Scheduler& scheduler);
  ~QueryApi() override;

  void handle(core::HttpRequest request, core::Respond respond) override;
  [[nodiscard]] static std::vector<RouteSpec> routes();

 private:
  struct Waiter {
    std::string order;
    std::int64_t min_version = 0;
    core::Respond respond;
    core::TimerId timer;
  };

  void order(const std::string& id, const core::HttpRequest& request, core::Respond respond);
  void answer_order(const std::string& id, const core::Respond& respond) const;
  void on_change(const std::string& order);
  [[nodiscard]] std::optional<OrderView> view(const std::string& id) const;
  [[nodiscard]] core::HttpResponse customer_orders(const std::string& customer) const;
  [[nodiscard]] core::HttpResponse orders_per_minute() const;

  Stores stores_;
  int partitions_;
  core::Scheduler& scheduler_;
  std::list<Waiter> waiters_;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace orderflow::services
