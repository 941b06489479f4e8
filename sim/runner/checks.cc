#include "sim/runner/checks.h"

#include <algorithm>
#include <initializer_list>

#include "core/codec/codec.h"
#include "core/murmur2.h"
#include "services/query/projections.h"
#include "services/topics.h"

namespace orderflow::sim {
namespace {

using core::OrderStatus;
using core::ShipmentStatus;

Violation violation(std::string checker, std::string kind, std::string detail,
                    core::Timestamp at = {}) {
  return {std::move(checker), std::move(kind), std::move(detail), at};
}

bool aborted(const adapters::PartitionLog& log, const adapters::StoredRecord& r) {
  return std::any_of(log.aborted.begin(), log.aborted.end(), [&](const auto& range) {
    return range.producer_id == r.producer_id && range.first <= r.offset && r.offset <= range.last;
  });
}

// The events of every aggregate of one type, in log order.
template <typename Event>
struct AggregateLog {
  struct Entry {
    core::EventMeta meta;
    Event event;
    std::string event_type;
    core::Offset offset;
    core::Timestamp at;
  };
  std::map<std::string, std::vector<Entry>> by_id;
};

template <typename Event>
AggregateLog<Event> read_log(const RecordedLogs& logs, const std::string& topic, Violations& out) {
  AggregateLog<Event> log;
  const auto it = logs.find(topic);
  if (it == logs.end()) return log;
  for (const auto& r : it->second) {
    auto decoded = core::decode_event(r.value);
    if (!decoded) {
      out.push_back(violation("event_sourcing", "undecodable_event",
                              topic + " offset " + std::to_string(r.offset.value()), r.timestamp));
      continue;
    }
    const auto* event = std::get_if<Event>(&decoded->event);
    if (event == nullptr) {
      out.push_back(violation("event_sourcing", "foreign_event",
                              decoded->event_type + " on " + topic, r.timestamp));
      continue;
    }
    log.by_id[decoded->meta.aggregate_id].push_back(
        {decoded->meta, *event, decoded->event_type, r.offset, r.timestamp});
  }
  return log;
}

// Versions contiguous and event ids unique per aggregate; returns the events that
// extend the aggregate's history (duplicates and conflicts dropped).
template <typename Event>
std::map<std::string, std::vector<typename AggregateLog<Event>::Entry>> check_versions(
    const AggregateLog<Event>& log, const std::string& what, Violations& out,
    bool redelivery_allowed = false) {
  std::map<std::string, std::vector<typename AggregateLog<Event>::Entry>> clean;
  for (const auto& [id, entries] : log.by_id) {
    std::map<std::string, std::int64_t> seen_ids;  // event id -> its version
    std::int64_t version = 0;
    for (const auto& e : entries) {
      const std::string where = what + " " + id + " v" + std::to_string(e.meta.version.value()) +
                                " at offset " + std::to_string(e.offset.value());
      const auto [seen, first] = seen_ids.emplace(e.meta.event_id.str(), e.meta.version.value());
      // At least once, a record may be written again: the same event, same version.
      if (!first && redelivery_allowed && seen->second == e.meta.version.value()) continue;
      if (!first) {
        out.push_back(violation("event_sourcing", "applied_twice",
                                "event " + e.meta.event_id.str() + " again: " + where, e.at));
        continue;
      }
      if (e.meta.version.value() == version + 1) {
        version = e.meta.version.value();
        clean[id].push_back(e);
      } else if (e.meta.version.value() > version + 1) {
        out.push_back(violation("event_sourcing", "version_gap",
                                where + " follows v" + std::to_string(version), e.at));
        version = e.meta.version.value();
        clean[id].push_back(e);
      } else {
        out.push_back(violation("event_sourcing", "version_conflict",
                                where + " after v" + std::to_string(version), e.at));
      }
    }
  }
  return clean;
}

bool allowed(OrderStatus from, const std::string& event) {
  const auto in = [&](std::initializer_list<OrderStatus> states) {
    return std::find(states.begin(), states.end(), from) != states.end();
  };
  if (event == "OrderPlaced") return in({OrderStatus::kNone});
  if (event == "OrderConfirmed") return in({OrderStatus::kPlaced});
  if (event == "OrderCancelled") return in({OrderStatus::kPlaced, OrderStatus::kConfirmed});
  if (event == "OrderDispatchApproved") return in({OrderStatus::kConfirmed});
  if (event == "OrderShipped") return in({OrderStatus::kDispatchApproved});
  if (event == "OrderDelivered") return in({OrderStatus::kShipped});
  return false;
}

bool allowed(ShipmentStatus from, const std::string& event) {
  const auto in = [&](std::initializer_list<ShipmentStatus> states) {
    return std::find(states.begin(), states.end(), from) != states.end();
  };
  if (event == "ShipmentRequested") return in({ShipmentStatus::kNone});
  if (event == "ShipmentAllocated" || event == "ShipmentAllocationFailed") {
    return in({ShipmentStatus::kRequested});
  }
  if (event == "ShipmentPacked") return in({ShipmentStatus::kAllocated});
  if (event == "ShipmentDispatched") return in({ShipmentStatus::kPacked});
  if (event == "ShipmentDelivered") return in({ShipmentStatus::kDispatched});
  if (event == "ShipmentCancelled") {
    return in({ShipmentStatus::kRequested, ShipmentStatus::kAllocated, ShipmentStatus::kPacked});
  }
  return false;
}

template <typename D, typename Entries>
std::map<std::string, typename D::State> fold_checked(const Entries& by_id, const std::string& what,
                                                      Violations& out) {
  std::map<std::string, typename D::State> states;
  for (const auto& [id, entries] : by_id) {
    auto state = D::initial();
    for (const auto& e : entries) {
      if (!allowed(state.status, e.event_type)) {
        out.push_back(violation("event_sourcing", "illegal_transition",
                                what + " " + id + ": " + e.event_type + " in state " +
                                    std::string(to_string(state.status)),
                                e.at));
      }
      state = D::evolve(std::move(state), e.event);
    }
    states.emplace(id, std::move(state));
  }
  return states;
}

std::map<std::string, core::OrderState> fold_orders(const RecordedLogs& cluster, Violations& out,
                                                    bool at_least_once = true) {
  const auto log = read_log<core::OrderEvent>(cluster, services::kOrderEvents, out);
  return fold_checked<core::OrderDecider>(check_versions(log, "order", out, at_least_once), "order",
                                          out);
}

}  // namespace

std::vector<CommittedRecord> committed_records(const adapters::SimCluster& cluster,
                                               const std::string& topic) {
  std::vector<CommittedRecord> records;
  for (const auto& tp : cluster.partitions(topic)) {
    const adapters::PartitionLog* log = cluster.log(tp);
    if (log == nullptr) continue;
    const core::Offset stable = log->last_stable();
    for (const auto& r : log->records) {
      if (r.control || r.offset >= stable || aborted(*log, r)) continue;
      records.push_back({tp, r.offset, r.value.value_or(""), r.timestamp});
    }
  }
  return records;
}

Violations check_event_sourcing(const RecordedLogs& cluster, const ClientHistory& clients,
                                bool at_least_once, CheckSummary& summary) {
  Violations out;
  const auto orders = fold_orders(cluster, out, at_least_once);

  const auto shipment_log = read_log<core::ShipmentEvent>(cluster, services::kShipmentEvents, out);
  const auto shipment_entries = check_versions(shipment_log, "shipment", out, at_least_once);
  const auto shipments = fold_checked<core::ShipmentDecider>(shipment_entries, "shipment", out);

  // Dispatch only with the order's approval and never for a cancelled order; at
  // most one dispatched shipment per order.
  std::map<std::string, int> dispatched_per_order;
  for (const auto& [id, entries] : shipment_entries) {
    const auto it = shipments.find(id);
    const std::string order = it->second.order.str();
    for (const auto& e : entries) {
      if (e.event_type != "ShipmentDispatched") continue;
      ++dispatched_per_order[order];
      const auto o = orders.find(order);
      if (o == orders.end() || o->second.status == OrderStatus::kCancelled ||
          o->second.status == OrderStatus::kPlaced || o->second.status == OrderStatus::kConfirmed) {
        out.push_back(violation("event_sourcing", "dispatched_cancelled",
                                "shipment " + id + " dispatched while order " + order + " is " +
                                    (o == orders.end() ? std::string("unknown")
                                                       : std::string(to_string(o->second.status))),
                                e.at));
      }
    }
  }
  for (const auto& [order, n] : dispatched_per_order) {
    if (n > 1) {
      out.push_back(violation("event_sourcing", "double_dispatch",
                              std::to_string(n) + " shipments dispatched for order " + order));
    }
  }

  // Stock: conserved after every event; nothing reserved once every order is done.
  const auto stock_log = read_log<core::StockEvent>(cluster, services::kStockEvents, out);
  const auto stock_entries = check_versions(stock_log, "stock", out, at_least_once);
  for (const auto& [sku, entries] : stock_entries) {
    auto state = core::StockDecider::initial();
    bool reported = false;
    for (const auto& e : entries) {
      state = core::StockDecider::evolve(std::move(state), e.event);
      if (!state.conserved() && !reported) {
        reported = true;
        out.push_back(violation(
            "event_sourcing", "stock_not_conserved",
            "sku " + sku + " after " + e.event_type + " v" + std::to_string(e.meta.version.value()),
            e.at));
      }
    }
    const bool all_done = std::all_of(orders.begin(), orders.end(),
                                      [](const auto& o) { return o.second.terminal(); });
    if (all_done && state.reserved != core::Quantity{0}) {
      out.push_back(violation("event_sourcing", "stock_leaked",
                              "sku " + sku + " keeps " + std::to_string(state.reserved.value()) +
                                  " reserved with every order finished"));
    }
  }

  // Acknowledged commands: every one has an outcome; every acknowledged placement
  // placed its order.
  std::set<std::string> decided;
  const auto outcomes = cluster.find(services::kOrderOutcomes);
  for (const auto& r :
       outcomes == cluster.end() ? std::vector<CommittedRecord>{} : outcomes->second) {
    if (auto outcome = core::decode_outcome(r.value)) decided.insert(outcome->command_id);
  }
  for (const auto& [command, at] : clients.acked_commands) {
    if (!decided.contains(command)) {
      out.push_back(violation("event_sourcing", "lost_command",
                              "command " + command + " was acknowledged and never decided", at));
    }
  }
  for (const auto& order : clients.acked_orders) {
    if (!orders.contains(order)) {
      out.push_back(violation("event_sourcing", "lost_order",
                              "order " + order + " was acknowledged and never placed"));
    }
  }

  for (const auto& [id, order] : orders) {
    ++summary.orders;
    if (order.status == OrderStatus::kDelivered) ++summary.delivered;
    if (order.status == OrderStatus::kCancelled) ++summary.cancelled;
    if (!order.terminal()) ++summary.not_terminal;
  }
  return out;
}

Violations check_liveness(const RecordedLogs& cluster) {
  Violations ignored;
  Violations out;
  int open = 0;
  std::string first;
  const auto orders = fold_orders(cluster, ignored);
  for (const auto& [id, order] : orders) {
    if (order.terminal()) continue;
    if (open++ > 0) continue;
    // Name where the first stuck order's saga stopped.
    first = id + " is " + std::string(to_string(order.status));
    const auto shipment_log =
        read_log<core::ShipmentEvent>(cluster, services::kShipmentEvents, ignored);
    const auto it = shipment_log.by_id.find("s-" + id);
    first += "; shipment events:";
    if (it == shipment_log.by_id.end()) first += " none";
    for (const auto& e : it == shipment_log.by_id.end() ? decltype(it->second){} : it->second) {
      first += " " + e.event_type;
    }
  }
  if (open > 0) {
    out.push_back(
        violation("liveness", "not_terminal",
                  std::to_string(open) + " orders unfinished at the end; first: " + first));
  }
  return out;
}

Violations check_cqrs(const RecordedLogs& cluster, const ClientHistory& clients,
                      const std::vector<QueryModels>& models, int partitions) {
  Violations ignored;
  Violations out;
  const auto orders = fold_orders(cluster, ignored);
  const auto shipment_log =
      read_log<core::ShipmentEvent>(cluster, services::kShipmentEvents, ignored);
  const auto shipments = fold_checked<core::ShipmentDecider>(
      check_versions(shipment_log, "shipment", ignored, true), "shipment", ignored);

  std::map<std::string, std::map<std::string, std::string>> by_customer;
  std::map<core::Timestamp, std::int64_t> per_minute;
  for (const auto& [id, order] : orders) {
    by_customer[order.customer.str()][id] =
        std::string(to_string(order.status)) + "," + std::to_string(order.total().value());
    ++per_minute[std::chrono::floor<std::chrono::minutes>(order.placed_at)];
  }

  for (const auto& model : models) {
    const auto mismatch = [&](std::string what) {
      out.push_back(violation("cqrs", "read_model_mismatch", model.instance + ": " + what));
    };
    std::map<std::string, std::map<std::string, std::string>> customers;
    std::map<core::Timestamp, std::int64_t> minutes;
    for (int p = 0; p < partitions; ++p) {
      for (const auto& [customer, expected] : by_customer) {
        for (const auto& o : services::read_customer_orders(
                 model.stores(services::kCustomerOrdersStore, p), customer)) {
          customers[customer][o.order_id] = o.status + "," + std::to_string(o.total_cents);
        }
      }
      for (const auto& [minute, n] :
           services::read_orders_per_minute(model.stores(services::kOrdersPerMinuteStore, p))) {
        minutes[minute] += n;
      }
    }
    for (const auto& [customer, expected] : by_customer) {
      if (customers[customer] != expected) {
        mismatch("orders of customer " + customer + " differ from the order log");
        break;
      }
    }
    if (minutes != per_minute) mismatch("orders per minute differ from the order log");
    int missing = 0;
    int differing = 0;
    std::string example;
    for (const auto& [id, order] : orders) {
      const int p = core::partition_for_key(id, partitions).value();
      const auto view = services::read_order_view(model.stores(services::kOrderViewsStore, p), id);
      bool same = view.has_value() && view->order == order;
      if (same) {
        if (auto s = shipments.find("s-" + id); s != shipments.end()) {
          same = view->shipment == s->second;
        }
      }
      if (!view) {
        ++missing;
      } else if (!same) {
        ++differing;
      }
      if (!same && example.empty()) example = id;
    }
    if (missing + differing > 0) {
      mismatch(std::to_string(missing) + " order views missing and " + std::to_string(differing) +
               " differing from the logs; first: " + example);
    }
  }

  // Monotonic reads per reader and order.
  std::map<std::pair<std::string, std::string>, std::int64_t> last;
  for (const auto& read : clients.reads) {
    auto& seen = last[{read.instance, read.order}];
    if (read.version < seen) {
      out.push_back(violation("cqrs", "version_regressed",
                              read.instance + " served order " + read.order + " at v" +
                                  std::to_string(read.version) + " after v" + std::to_string(seen),
                              read.at));
    }
    seen = std::max(seen, read.version);
  }
  return out;
}

RecordedLogs recorded_logs(const adapters::SimCluster& cluster) {
  RecordedLogs logs;
  for (const char* topic : {services::kOrderEvents, services::kShipmentEvents,
                            services::kStockEvents, services::kOrderOutcomes}) {
    logs[topic] = committed_records(cluster, topic);
  }
  return logs;
}

Violations check_recorded_logs(const RecordedLogs& logs, const ClientHistory& clients,
                               bool at_least_once, CheckSummary& summary) {
  Violations out = check_event_sourcing(logs, clients, at_least_once, summary);
  for (auto& v : check_liveness(logs)) out.push_back(std::move(v));
  return out;
}

std::vector<std::string> invariant_names() {
  return {"versions contiguous per aggregate",
          "no event applied twice",
          "every event a legal transition",
          "no acknowledged command lost",
          "no dispatch of a cancelled or unapproved order",
          "at most one dispatched shipment per order",
          "stock conserved, nothing left reserved",
          "read models equal the fold of the logs",
          "no reader sees a version go backwards",
          "every order terminal after the liveness window",
          "kafka: no lost write, duplicate, poll skip, non-monotonic poll or send",
          "kafka: no inconsistent offsets, aborted or precommitted read, unseen write"};
}

}  // namespace orderflow::sim
