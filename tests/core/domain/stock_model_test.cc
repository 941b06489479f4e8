// Model-based test of the Stock decider: random sequences of restocks, reservations,
// releases and shipments, including invalid, redelivered and mismatched ones, run against
// the decider and against a small independent model of the quantities.
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>
#include <rapidcheck/state.h>

#include "core/domain/stock.h"
#include "tests/core/domain/decider_sut.h"

namespace orderflow::core {
namespace {

constexpr Timestamp kStart = kModelStart;

// Small pools, so that redeliveries, collisions and mismatched ids are frequent; an empty
// value is always last.
constexpr std::array<std::string_view, 3> kSkus{"sku-a", "sku-b", ""};
constexpr std::array<std::string_view, 4> kOrderIds{"o-1", "o-2", "o-3", ""};

// Commands, naming ids by their index in the pools above.
struct Restocking {
  int sku = 0;
  std::int64_t quantity = 0;
};
struct Reserving {
  int order = 0;
  std::int64_t quantity = 0;
};
struct Releasing {
  int order = 0;
};
struct Shipping {
  int order = 0;
};
using Spec = std::variant<Restocking, Reserving, Releasing, Shipping>;

StockCommand to_command(const Restocking& r) {
  return Restock{Sku{kSkus[r.sku]}, Quantity{r.quantity}};
}
StockCommand to_command(const Reserving& r) {
  return ReserveStock{OrderId{kOrderIds[r.order]}, Quantity{r.quantity}};
}
StockCommand to_command(const Releasing& r) { return ReleaseStock{OrderId{kOrderIds[r.order]}}; }
StockCommand to_command(const Shipping& s) { return ShipStock{OrderId{kOrderIds[s.order]}}; }

std::string describe(const Restocking& r) {
  return "Restock{" + std::string(kSkus[r.sku]) + " " + std::to_string(r.quantity) + "}";
}
std::string describe(const Reserving& r) {
  return "ReserveStock{" + std::string(kOrderIds[r.order]) + " " + std::to_string(r.quantity) + "}";
}
std::string describe(const Releasing& r) {
  return "ReleaseStock{" + std::string(kOrderIds[r.order]) + "}";
}
std::string describe(const Shipping& s) {
  return "ShipStock{" + std::string(kOrderIds[s.order]) + "}";
}

// The model: plain counters and, per order, what it holds and how that was settled.
enum class Hold { kHeld, kReleased, kShipped };

struct Booking {
  std::int64_t quantity = 0;
  Hold hold = Hold::kHeld;
};

struct StockModel {
  std::string sku;
  std::int64_t received = 0;
  std::int64_t available = 0;
  std::int64_t reserved = 0;
  std::int64_t shipped = 0;
  std::map<std::string, Booking> bookings;
};

// What a command is predicted to do ("1 event", "no events", "rejected: <code>") and the
// model afterwards.
struct Prediction {
  std::string verdict;
  StockModel next;
};

Prediction rejected(const StockModel& m, RejectionCode code) {
  return {"rejected: " + std::string(to_string(code)), m};
}
Prediction unchanged(const StockModel& m) { return {"no events", m}; }
Prediction changed(StockModel m) { return {"1 event", std::move(m)}; }

Prediction predict(const StockModel& m, const Restocking& r) {
  const std::string sku(kSkus[r.sku]);
  if (sku.empty() || r.quantity <= 0) return rejected(m, RejectionCode::kInvalid);
  if (!m.sku.empty() && m.sku != sku) return rejected(m, RejectionCode::kConflict);
  StockModel next = m;
  next.sku = sku;
  next.received += r.quantity;
  next.available += r.quantity;
  return changed(next);
}

Prediction predict(const StockModel& m, const Reserving& r) {
  const std::string order(kOrderIds[r.order]);
  if (order.empty() || r.quantity <= 0) return rejected(m, RejectionCode::kInvalid);
  if (auto it = m.bookings.find(order); it != m.bookings.end()) {
    const bool redelivery = it->second.hold == Hold::kHeld && it->second.quantity == r.quantity;
    return redelivery ? unchanged(m) : rejected(m, RejectionCode::kConflict);
  }
  if (r.quantity > m.available) return rejected(m, RejectionCode::kInsufficientStock);
  StockModel next = m;
  next.available -= r.quantity;
  next.reserved += r.quantity;
  next.bookings[order] = {r.quantity, Hold::kHeld};
  return changed(next);
}

// Releasing and shipping both settle what an order holds, moving it to `into`.
Prediction settle(const StockModel& m, int order_index, Hold to, std::int64_t StockModel::*into) {
  const std::string order(kOrderIds[order_index]);
  if (order.empty()) return rejected(m, RejectionCode::kInvalid);
  const auto it = m.bookings.find(order);
  if (it == m.bookings.end()) return rejected(m, RejectionCode::kNotFound);
  if (it->second.hold == to) return unchanged(m);
  if (it->second.hold != Hold::kHeld) return rejected(m, RejectionCode::kConflict);
  StockModel next = m;
  next.reserved -= it->second.quantity;
  next.*into += it->second.quantity;
  next.bookings[order].hold = to;
  return changed(next);
}

Prediction predict(const StockModel& m, const Releasing& r) {
  return settle(m, r.order, Hold::kReleased, &StockModel::available);
}

Prediction predict(const StockModel& m, const Shipping& s) {
  return settle(m, s.order, Hold::kShipped, &StockModel::shipped);
}

Prediction predict(const StockModel& m, const Spec& spec) {
  return std::visit([&](const auto& s) { return predict(m, s); }, spec);
}

using StockSut = DeciderSut<StockDecider>;

void check_log(const StockSut& sut, const Decision<StockEvent>& decision) {
  RC_ASSERT(fold<StockDecider>(sut.log) == sut.state);
  RC_ASSERT(sut.state.version == AggregateVersion{static_cast<std::int64_t>(sut.log.size())});
  if (!decision) return;
  for (const auto& event : *decision) {
    RC_ASSERT(std::visit([](const auto& e) { return e.at; }, event) == sut.now);
  }
}

// Sum of the quantities of the reservations settled as `status` (or still held).
std::int64_t total(const StockState& state, ReservationStatus status) {
  std::int64_t sum = 0;
  for (const auto& [order, reservation] : state.reservations) {
    if (reservation.status == status) sum += reservation.quantity.value();
  }
  return sum;
}

void check_conserved(const Spec& spec, const StockState& before, const StockState& state) {
  RC_ASSERT(state.conserved());
  RC_ASSERT(state.available.value() + state.reserved.value() + state.shipped.value() ==
            state.received.value());
  RC_ASSERT(state.available.value() >= 0);
  RC_ASSERT(state.reserved.value() >= 0);
  RC_ASSERT(state.shipped.value() >= 0);
  RC_ASSERT(state.reserved.value() == total(state, ReservationStatus::kHeld));
  RC_ASSERT(state.shipped.value() == total(state, ReservationStatus::kShipped));
  // Only a restock brings goods in.
  if (!std::holds_alternative<Restocking>(spec)) RC_ASSERT(state.received == before.received);
}

Hold hold_of(ReservationStatus status) {
  switch (status) {
    case ReservationStatus::kHeld: return Hold::kHeld;
    case ReservationStatus::kReleased: return Hold::kReleased;
    case ReservationStatus::kShipped: return Hold::kShipped;
  }
  return Hold::kHeld;
}

void check_matches(const StockModel& model, const StockState& state) {
  RC_ASSERT(state.sku.str() == model.sku);
  RC_ASSERT(state.received.value() == model.received);
  RC_ASSERT(state.available.value() == model.available);
  RC_ASSERT(state.reserved.value() == model.reserved);
  RC_ASSERT(state.shipped.value() == model.shipped);
  RC_ASSERT(state.reservations.size() == model.bookings.size());
  for (const auto& [order, booking] : model.bookings) {
    const auto it = state.reservations.find(OrderId{order});
    RC_ASSERT(it != state.reservations.end());
    RC_ASSERT(it->second.quantity.value() == booking.quantity);
    RC_ASSERT(hold_of(it->second.status) == booking.hold);
  }
}

// Quantities are mostly 1..20, now and then zero or negative.
rc::Gen<std::int64_t> gen_quantity() {
  return rc::gen::weightedOneOf<std::int64_t>(
      {{9, rc::gen::inRange<std::int64_t>(1, 21)}, {1, rc::gen::element<std::int64_t>(0, -5)}});
}

rc::Gen<int> gen_order() { return rc::gen::weightedElement<int>({{3, 0}, {3, 1}, {3, 2}, {1, 3}}); }

// Like every `draw_`, it runs inside a generator (command constructors run in one).
Restocking draw_restock(const StockModel& model) {
  const int usual =
      model.sku.empty() ? 0 : static_cast<int>(std::ranges::find(kSkus, model.sku) - kSkus.begin());
  const int sku =
      *rc::gen::weightedOneOf<int>({{3, rc::gen::just(usual)}, {1, rc::gen::inRange(0, 3)}});
  return {sku, *gen_quantity()};
}

// Half of the reservations for an order that holds one repeat its quantity (a redelivery).
Reserving draw_reserve(const StockModel& model) {
  const int order = *gen_order();
  const auto it = model.bookings.find(std::string(kOrderIds[order]));
  if (it == model.bookings.end()) return {order, *gen_quantity()};
  return {order, *rc::gen::weightedOneOf<std::int64_t>(
                     {{1, rc::gen::just(it->second.quantity)}, {1, gen_quantity()}})};
}

Spec draw_spec(const StockModel& model) {
  switch (*rc::gen::weightedElement<int>({{3, 0}, {4, 1}, {2, 2}, {2, 3}})) {
    case 0: return draw_restock(model);
    case 1: return draw_reserve(model);
    case 2: return Releasing{*gen_order()};
    default: return Shipping{*gen_order()};
  }
}

class StockStep final : public rc::state::Command<StockModel, StockSut> {
 public:
  explicit StockStep(const StockModel& model)
      : spec_(draw_spec(model)), advance_(std::chrono::seconds{*rc::gen::inRange(0, 3600)}) {}

  void apply(StockModel& model) const override { model = predict(model, spec_).next; }

  void run(const StockModel& model, StockSut& sut) const override {
    const Prediction expected = predict(model, spec_);
    const StockState before = sut.state;
    const auto decision =
        sut.decide(std::visit([](const auto& s) { return to_command(s); }, spec_), advance_);
    check_log(sut, decision);
    check_conserved(spec_, before, sut.state);
    if (!sut.compare_with_model) return;
    RC_ASSERT(verdict(decision) == expected.verdict);
    check_matches(expected.next, sut.state);
  }

  void show(std::ostream& os) const override {
    os << std::visit([](const auto& s) { return describe(s); }, spec_) << " after "
       << std::chrono::duration_cast<std::chrono::seconds>(advance_).count() << "s";
  }

 private:
  Spec spec_;
  Duration advance_;
};

void run_sequence(StockSut& sut) {
  rc::state::check(StockModel{}, sut, rc::state::gen::execOneOfWithArgs<StockStep>());
  RC_CLASSIFY(sut.state.reserved > Quantity{0}, "holds reservations");
  RC_CLASSIFY(sut.state.shipped > Quantity{0}, "shipped some");
  RC_CLASSIFY(std::ranges::any_of(
                  sut.state.reservations,
                  [](const auto& r) { return r.second.status == ReservationStatus::kReleased; }),
              "released some");
}

RC_GTEST_PROP(StockDeciderModel, ConservesStockAndKeepsItsLog, ()) {
  StockSut sut;
  sut.compare_with_model = false;
  run_sequence(sut);
}

RC_GTEST_PROP(StockDeciderModel, AgreesWithTheModel, ()) {
  StockSut sut;
  run_sequence(sut);
}

}  // namespace
}  // namespace orderflow::core
