// The query service's projections: the CQRS read side.
//
// Every query instance keeps the whole read model (its own consumer group,
// `query-<instance>`), so any instance answers any read. One task per partition
// of `orders.events` and `shipments.events` keeps, in its stores:
// - the order view: the order's and its shipment's events, each aggregate version
//   applied once — a version at or below the last applied is a duplicate and is
//   skipped, a version past the next is a gap and is counted and logged;
// - each customer's orders: `<customer>/<order>` -> the order's status and total;
// - orders placed per minute: `<minute start, 20 digits>` -> count, a tumbling
//   window on event time.
// `ProjectionWatch` tells waiting readers (long polls) that an order changed.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/domain/order.h"
#include "core/domain/shipment.h"
#include "core/ports/state_store.h"
#include "core/streams/streams.h"

namespace orderflow::services {

inline constexpr const char* kOrderViewsStore = "order-views";
inline constexpr const char* kCustomerOrdersStore = "customer-orders";
inline constexpr const char* kOrdersPerMinuteStore = "orders-per-minute";

// What a projection task reports as it goes; shared by an instance's tasks and its
// HTTP handler, on the instance's executor.
class ProjectionWatch {
 public:
  using Listener = std::function<void(const std::string& order_id)>;
  void on_change(Listener listener) { listeners_.push_back(std::move(listener)); }
  void changed(const std::string& order_id) const {
    for (const auto& l : listeners_) l(order_id);
  }
  std::uint64_t duplicates_skipped = 0;
  std::uint64_t gaps = 0;

 private:
  std::vector<Listener> listeners_;
};

struct OrderView {
  core::OrderState order;
  core::ShipmentState shipment;
};

// The view of `order_id` in `store`, if the order is known.
[[nodiscard]] std::optional<OrderView> read_order_view(const core::StateStore& store,
                                                       const std::string& order_id);

struct CustomerOrder {
  std::string order_id;
  std::string status;
  std::int64_t total_cents = 0;
};
[[nodiscard]] std::vector<CustomerOrder> read_customer_orders(const core::StateStore& store,
                                                              const std::string& customer_id);

// Orders placed per minute (minute start -> count) in one task's store.
[[nodiscard]] std::map<core::Timestamp, std::int64_t> read_orders_per_minute(
    const core::StateStore& store);

[[nodiscard]] core::SubTopology projection_topology(ProjectionWatch& watch);

}  // namespace orderflow::services
