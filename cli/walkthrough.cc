#include "cli/walkthrough.h"

#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "core/codec/codec.h"
#include "core/ports/seeded_random.h"

namespace orderflow::cli {
namespace {

using namespace orderflow::core;  // NOLINT(google-build-using-namespace): a CLI over core

constexpr std::int64_t kStartMillis = 1'798'761'600'000;  // 2027-01-01T00:00:00Z

// One aggregate type's states and event log, driven through its decider the way
// a command processor would: decide, encode each event in its envelope, evolve.
template <Decider D>
class Aggregates {
 public:
  Aggregates(const char* label, std::vector<std::string>& log) : label_(label), log_(log) {}

  // Returns true when the command was accepted (with or without events).
  bool run(const std::string& id, const typename D::Command& command, Timestamp now,
           const std::string& what, Random& random) {
    typename D::State& state = states_[id];
    auto decision = D::decide(state, command, now);
    if (!decision) {
      std::printf("  %-9s %-14s %-28s -> rejected %s: %s\n", label_, id.c_str(), what.c_str(),
                  std::string(to_string(decision.error().code)).c_str(),
                  decision.error().reason.c_str());
      return false;
    }
    if (decision->empty()) {
      std::printf("  %-9s %-14s %-28s -> accepted, nothing to change\n", label_, id.c_str(),
                  what.c_str());
    }
    for (const auto& event : *decision) {
      state = D::evolve(state, event);
      EventMeta meta{EventId{random.hex_id()}, id, state.version, now, what, "walkthrough"};
      log_.push_back(encode_event(meta, event));
      std::printf("  %-9s %-14s %-28s -> %s v%lld (%zu bytes)\n", label_, id.c_str(), what.c_str(),
                  std::string(event_type(event)).c_str(),
                  static_cast<long long>(state.version.value()), log_.back().size());
    }
    return true;
  }

  [[nodiscard]] const typename D::State& at(const std::string& id) { return states_[id]; }
  [[nodiscard]] const std::map<std::string, typename D::State>& all() const { return states_; }

 private:
  const char* label_;
  std::vector<std::string>& log_;
  std::map<std::string, typename D::State> states_;
};

enum class Fate { kDelivered, kCancelledEarly, kCancelTooLate, kCancelWinsRace };

const char* describe(Fate fate) {
  switch (fate) {
    case Fate::kDelivered: return "delivered";
    case Fate::kCancelledEarly: return "customer cancels before packing";
    case Fate::kCancelTooLate: return "cancel arrives after dispatch approval";
    case Fate::kCancelWinsRace: return "cancel decided before dispatch approval";
  }
  return "?";
}

struct World {
  std::vector<std::string> log;
  Aggregates<OrderDecider> orders{"order", log};
  Aggregates<ShipmentDecider> shipments{"shipment", log};
  Aggregates<StockDecider> stock{"stock", log};
  SeededRandom random;
  std::int64_t minute = 0;

  explicit World(std::uint64_t seed) : random(seed) {}
  Timestamp tick() { return from_unix_millis(kStartMillis + 60'000 * minute++); }
};

const std::vector<std::string> kSkus = {"sku-kettle", "sku-teapot", "sku-mug"};

// Shipping's half of the saga for one order: reserve every line or none.
bool reserve_lines(World& w, const OrderState& order, const std::string& shipment) {
  std::vector<std::string> reserved;
  for (const auto& line : order.lines) {
    const std::string sku = line.sku.str();
    if (!w.stock.run(sku, ReserveStock{order.order, line.quantity}, w.tick(),
                     "reserve " + std::to_string(line.quantity.value()), w.random)) {
      for (const auto& done : reserved) {
        w.stock.run(done, ReleaseStock{order.order}, w.tick(), "release (compensate)", w.random);
      }
      w.shipments.run(shipment, FailAllocation{"out of stock: " + sku}, w.tick(), "fail allocation",
                      w.random);
      w.orders.run(order.order.str(), CancelOrder{"out of stock", CancelInitiator::kSystem},
                   w.tick(), "cancel (system)", w.random);
      return false;
    }
    reserved.push_back(sku);
  }
  return true;
}

void release_all(World& w, const OrderState& order) {
  for (const auto& line : order.lines) {
    w.stock.run(line.sku.str(), ReleaseStock{order.order}, w.tick(), "release", w.random);
  }
}

void ship_all(World& w, const OrderState& order) {
  for (const auto& line : order.lines) {
    w.stock.run(line.sku.str(), ShipStock{order.order}, w.tick(), "ship", w.random);
  }
}

PlaceOrder make_order(World& w, int n) {
  char id[32];
  std::snprintf(id, sizeof id, "o-%04d", n);
  PlaceOrder place{OrderId{id},
                   CustomerId{"c-" + std::to_string(1 + w.random.uniform(3))},
                   {},
                   Address{"Ada Lovelace", "12 St James's Sq", "London", "SW1Y 4JH", "GB"}};
  const std::size_t lines = 1 + w.random.uniform(2);
  for (std::size_t i = 0; i < lines; ++i) {
    place.lines.push_back({Sku{kSkus[(n + i) % kSkus.size()]},
                           Quantity{static_cast<std::int64_t>(1 + w.random.uniform(4))},
                           Cents{static_cast<std::int64_t>(1'500 + 500 * w.random.uniform(6))}});
  }
  return place;
}

void run_order(World& w, int n, Fate fate) {
  const PlaceOrder place = make_order(w, n);
  const std::string id = place.order.str();
  const std::string shipment = "s-" + id;
  std::printf("\n%s: %s\n", id.c_str(), describe(fate));

  w.orders.run(id, place, w.tick(), "place", w.random);
  w.orders.run(id, place, w.tick(), "place (client retry)", w.random);
  const OrderState& order = w.orders.at(id);
  std::vector<ShipmentLine> lines;
  for (const auto& l : order.lines) lines.push_back({l.sku, l.quantity});
  w.shipments.run(shipment, RequestShipment{ShipmentId{shipment}, order.order, lines}, w.tick(),
                  "request", w.random);
  if (!reserve_lines(w, order, shipment)) return;
  w.shipments.run(shipment, AllocateShipment{WarehouseId{"wh-lon"}}, w.tick(), "allocate",
                  w.random);
  w.orders.run(id, ConfirmOrder{ShipmentId{shipment}}, w.tick(), "confirm", w.random);

  if (fate == Fate::kCancelledEarly || fate == Fate::kCancelWinsRace) {
    if (fate == Fate::kCancelWinsRace) {
      w.shipments.run(shipment, PackShipment{}, w.tick(), "pack", w.random);
    }
    w.orders.run(id, CancelOrder{"changed my mind"}, w.tick(), "cancel (customer)", w.random);
    w.orders.run(id, ApproveDispatch{ShipmentId{shipment}}, w.tick(), "approve dispatch", w.random);
    w.shipments.run(shipment, CancelShipment{"order cancelled"}, w.tick(), "cancel", w.random);
    release_all(w, order);
    return;
  }

  w.shipments.run(shipment, PackShipment{}, w.tick(), "pack", w.random);
  w.orders.run(id, ApproveDispatch{ShipmentId{shipment}}, w.tick(), "approve dispatch", w.random);
  if (fate == Fate::kCancelTooLate) {
    w.orders.run(id, CancelOrder{"too late?"}, w.tick(), "cancel (customer)", w.random);
  }
  const std::string tracking = "TRK" + w.random.hex_id().substr(0, 8);
  w.shipments.run(shipment, DispatchShipment{"royal-mail", tracking}, w.tick(), "dispatch",
                  w.random);
  ship_all(w, order);
  w.orders.run(id, MarkShipped{ShipmentId{shipment}, "royal-mail", tracking}, w.tick(),
               "mark shipped", w.random);
  w.shipments.run(shipment, DeliverShipment{}, w.tick(), "deliver", w.random);
  w.orders.run(id, MarkDelivered{ShipmentId{shipment}}, w.tick(), "mark delivered", w.random);
  w.orders.run(id, CancelOrder{"after delivery"}, w.tick(), "cancel (customer)", w.random);
}

// Every event went out as bytes; decoding them all back must reproduce each
// aggregate's state by replay.
bool replay_matches(const World& w) {
  std::map<std::string, OrderState> orders;
  std::map<std::string, ShipmentState> shipments;
  std::map<std::string, StockState> stock;
  for (const auto& bytes : w.log) {
    auto decoded = decode_event(bytes);
    if (!decoded) {
      std::printf("decode failed: %s\n", decoded.error().reason.c_str());
      return false;
    }
    const std::string& id = decoded->meta.aggregate_id;
    if (auto* e = std::get_if<OrderEvent>(&decoded->event)) {
      orders[id] = OrderDecider::evolve(orders[id], *e);
    } else if (auto* s = std::get_if<ShipmentEvent>(&decoded->event)) {
      shipments[id] = ShipmentDecider::evolve(shipments[id], *s);
    } else {
      stock[id] = StockDecider::evolve(stock[id], std::get<StockEvent>(decoded->event));
    }
  }
  return orders == w.orders.all() && shipments == w.shipments.all() && stock == w.stock.all();
}

int summarize(const World& w) {
  std::map<std::string, int> by_status;
  for (const auto& [id, order] : w.orders.all()) ++by_status[std::string(to_string(order.status))];
  std::printf("\norders by final state:");
  for (const auto& [status, count] : by_status) std::printf(" %s=%d", status.c_str(), count);

  bool conserved = true;
  std::printf("\n\nstock         received available reserved shipped conserved\n");
  for (const auto& [sku, s] : w.stock.all()) {
    conserved = conserved && s.conserved();
    std::printf("%-13s %8lld %9lld %8lld %7lld %s\n", sku.c_str(),
                static_cast<long long>(s.received.value()),
                static_cast<long long>(s.available.value()),
                static_cast<long long>(s.reserved.value()),
                static_cast<long long>(s.shipped.value()), s.conserved() ? "yes" : "NO");
  }

  const bool replayed = replay_matches(w);
  std::printf("\n%zu events encoded; decoding and replaying them %s every aggregate's state\n",
              w.log.size(), replayed ? "reproduces" : "DOES NOT reproduce");
  return conserved && replayed ? 0 : 1;
}

}  // namespace

int run_walkthrough(const WalkthroughOptions& options) {
  World w(options.seed);
  std::printf("orderflow walkthrough: %d orders through the deciders (seed %llu)\n", options.orders,
              static_cast<unsigned long long>(options.seed));
  std::printf("\nwarehouse restock\n");
  for (const auto& sku : kSkus) {
    const auto quantity = static_cast<std::int64_t>(2 + w.random.uniform(2 * options.orders));
    w.stock.run(sku, Restock{Sku{sku}, Quantity{quantity}}, w.tick(),
                "restock " + std::to_string(quantity), w.random);
  }

  constexpr Fate kFates[] = {Fate::kDelivered, Fate::kCancelledEarly, Fate::kCancelTooLate,
                             Fate::kCancelWinsRace};
  for (int n = 1; n <= options.orders; ++n) {
    // The first four orders show each fate once; the rest are drawn from the seed.
    const Fate fate = n <= 4 ? kFates[n - 1] : kFates[w.random.uniform(4)];
    run_order(w, n, fate);
  }
  return summarize(w);
}

}  // namespace orderflow::cli
