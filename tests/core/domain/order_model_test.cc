// Model-based test of the Order decider: random command sequences, including invalid,
// out-of-order, redelivered and mismatched ones, run against the decider and against a
// small independent model that predicts the outcome of every command.
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
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

#include "core/domain/order.h"
#include "tests/core/domain/decider_sut.h"

namespace orderflow::core {
namespace {

constexpr Timestamp kStart = kModelStart;

// Small pools, so that redeliveries, collisions and mismatched ids are frequent.
constexpr std::array<std::string_view, 2> kOrderIds{"o-1", "o-2"};
constexpr std::array<std::string_view, 2> kCustomers{"c-1", "c-2"};
constexpr std::array<std::string_view, 3> kShipments{"s-1", "s-2", ""};

struct LineSet {
  std::vector<OrderLine> lines;
  bool valid = true;
};

const std::vector<LineSet>& line_sets() {
  static const std::vector<LineSet> sets{
      {{{Sku{"sku-a"}, Quantity{2}, Cents{500}}}},
      {{{Sku{"sku-a"}, Quantity{1}, Cents{500}}, {Sku{"sku-b"}, Quantity{20}, Cents{0}}}},
      {{}, false},
      {{{Sku{"sku-a"}, Quantity{0}, Cents{500}}}, false},
      {{{Sku{"sku-b"}, Quantity{1}, Cents{9}}, {Sku{"sku-b"}, Quantity{2}, Cents{9}}}, false},
  };
  return sets;
}

struct AddressChoice {
  Address address;
  bool valid = true;
};

const std::vector<AddressChoice>& addresses() {
  static const std::vector<AddressChoice> choices{
      {{"Ada", "1 Main St", "Springfield", "12345", "US"}},
      {{"Bob", "2 High St", "Oxford", "OX1", "GB"}},
      {{"Cy", "3 Low St", "", "999", "FR"}, false},
  };
  return choices;
}

// A PlaceOrder named by indexes into the pools above, so the model compares plain numbers.
struct Place {
  int order = 0;
  int customer = 0;
  int lines = 0;
  int address = 0;
  friend bool operator==(const Place&, const Place&) = default;
};
struct Cancel {};
// A saga signal that moves the order forward to `target` on behalf of `shipment`.
struct Signal {
  OrderStatus target = OrderStatus::kConfirmed;
  int shipment = 0;
};
using Spec = std::variant<Place, Cancel, Signal>;

OrderCommand to_command(const Place& p) {
  return PlaceOrder{OrderId{kOrderIds[p.order]}, CustomerId{kCustomers[p.customer]},
                    line_sets()[p.lines].lines, addresses()[p.address].address};
}

OrderCommand to_command(const Cancel&) { return CancelOrder{"changed my mind"}; }

OrderCommand to_command(const Signal& s) {
  const ShipmentId shipment{kShipments[s.shipment]};
  switch (s.target) {
    case OrderStatus::kConfirmed: return ConfirmOrder{shipment};
    case OrderStatus::kDispatchApproved: return ApproveDispatch{shipment};
    case OrderStatus::kShipped: return MarkShipped{shipment, "dhl", "t-1"};
    default: return MarkDelivered{shipment};
  }
}

std::string describe(const Place& p) {
  return "PlaceOrder{" + std::string(kOrderIds[p.order]) + " " +
         std::string(kCustomers[p.customer]) + " lines#" + std::to_string(p.lines) + " address#" +
         std::to_string(p.address) + "}";
}

std::string describe(const Cancel&) { return "CancelOrder"; }

std::string describe(const Signal& s) {
  const std::string shipment(kShipments[s.shipment]);
  switch (s.target) {
    case OrderStatus::kConfirmed: return "ConfirmOrder{" + shipment + "}";
    case OrderStatus::kDispatchApproved: return "ApproveDispatch{" + shipment + "}";
    case OrderStatus::kShipped: return "MarkShipped{" + shipment + "}";
    default: return "MarkDelivered{" + shipment + "}";
  }
}

std::string describe(const Spec& spec) {
  return std::visit([](const auto& s) { return describe(s); }, spec);
}

// The model: where the order is, what was placed and which shipment it is bound to.
struct OrderModel {
  OrderStatus status = OrderStatus::kNone;
  std::optional<Place> placed;
  std::string shipment;
};

// What a command is predicted to do ("1 event", "no events", "rejected: <code>") and the
// model afterwards.
struct Prediction {
  std::string verdict;
  OrderModel next;
};

Prediction rejected(const OrderModel& m, RejectionCode code) {
  return {"rejected: " + std::string(to_string(code)), m};
}
Prediction unchanged(const OrderModel& m) { return {"no events", m}; }
Prediction moved(OrderModel m, OrderStatus status) {
  m.status = status;
  return {"1 event", std::move(m)};
}

bool terminal(OrderStatus status) {
  return status == OrderStatus::kCancelled || status == OrderStatus::kDelivered;
}

// The forward line; cancelled is off it.
constexpr std::array kLine{OrderStatus::kPlaced, OrderStatus::kConfirmed,
                           OrderStatus::kDispatchApproved, OrderStatus::kShipped,
                           OrderStatus::kDelivered};

// Position on the forward line, -1 off it.
int position(OrderStatus status) {
  const auto* it = std::ranges::find(kLine, status);
  return it == kLine.end() ? -1 : static_cast<int>(it - kLine.begin());
}

Prediction predict(const OrderModel& m, const Place& p) {
  if (!line_sets()[p.lines].valid || !addresses()[p.address].valid) {
    return rejected(m, RejectionCode::kInvalid);
  }
  if (m.status == OrderStatus::kNone) {
    OrderModel next = m;
    next.placed = p;
    return moved(next, OrderStatus::kPlaced);
  }
  // A redelivery of the same PlaceOrder, for the same order, changes nothing.
  if (m.placed == p) return unchanged(m);
  return rejected(m, RejectionCode::kAlreadyExists);
}

Prediction predict(const OrderModel& m, const Cancel&) {
  switch (m.status) {
    case OrderStatus::kNone: return rejected(m, RejectionCode::kNotFound);
    case OrderStatus::kPlaced:
    case OrderStatus::kConfirmed: return moved(m, OrderStatus::kCancelled);
    case OrderStatus::kCancelled: return unchanged(m);
    default: return rejected(m, RejectionCode::kConflict);
  }
}

Prediction predict(const OrderModel& m, const Signal& s) {
  const std::string shipment(kShipments[s.shipment]);
  if (m.status == OrderStatus::kNone) return rejected(m, RejectionCode::kNotFound);
  if (m.status == OrderStatus::kCancelled) return rejected(m, RejectionCode::kConflict);
  const int at = position(m.status);
  const int to = position(s.target);
  if (at + 1 < to) return rejected(m, RejectionCode::kConflict);
  if (shipment.empty()) return rejected(m, RejectionCode::kInvalid);
  if (!m.shipment.empty() && m.shipment != shipment) return rejected(m, RejectionCode::kConflict);
  if (at >= to) return unchanged(m);
  OrderModel next = m;
  next.shipment = shipment;
  return moved(next, s.target);
}

Prediction predict(const OrderModel& m, const Spec& spec) {
  return std::visit([&](const auto& s) { return predict(m, s); }, spec);
}

using OrderSut = DeciderSut<OrderDecider>;

void check_log(const OrderSut& sut) {
  RC_ASSERT(fold<OrderDecider>(sut.log) == sut.state);
  RC_ASSERT(sut.state.version == AggregateVersion{static_cast<std::int64_t>(sut.log.size())});
  // Cancel and dispatch race; the order's own log must pick exactly one winner.
  RC_ASSERT(!(logged<OrderCancelled>(sut.log) && logged<OrderDispatchApproved>(sut.log)));
}

// Events carry the time of the decision that produced them.
void check_stamped(const OrderSut& sut, const Decision<OrderEvent>& decision) {
  if (decision && !decision->empty()) RC_ASSERT(sut.state.updated_at == sut.now);
}

void check_final(const OrderModel& model, const OrderState& before, const OrderSut& sut,
                 const Decision<OrderEvent>& decision) {
  if (!terminal(model.status)) return;
  RC_ASSERT(!decision || decision->empty());
  RC_ASSERT(sut.state == before);
}

void check_matches(const OrderModel& model, const OrderState& state) {
  RC_ASSERT(to_string(state.status) == to_string(model.status));
  RC_ASSERT(state.shipment.str() == model.shipment);
  if (!model.placed) return;
  RC_ASSERT(state.order.str() == kOrderIds[model.placed->order]);
  RC_ASSERT(state.customer.str() == kCustomers[model.placed->customer]);
  RC_ASSERT(state.lines == line_sets()[model.placed->lines].lines);
}

// Fresh draws mostly pick valid contents; the last choices of each pool are invalid.
rc::Gen<int> gen_index(int size) { return rc::gen::inRange(0, size); }
rc::Gen<int> gen_lines() {
  return rc::gen::weightedElement<int>({{3, 0}, {3, 1}, {1, 2}, {1, 3}, {1, 4}});
}
rc::Gen<int> gen_address() { return rc::gen::weightedElement<int>({{3, 0}, {3, 1}, {1, 2}}); }

// Keeps `kept` three times out of four, so that most commands repeat what came before.
// Like every `draw_`, it runs inside a generator (command constructors run in one).
int draw_kept_or(int kept, const rc::Gen<int>& fresh) {
  return *rc::gen::weightedOneOf<int>({{3, rc::gen::just(kept)}, {1, fresh}});
}

Place draw_place(const OrderModel& model) {
  if (!model.placed) return {*gen_index(2), *gen_index(2), *gen_lines(), *gen_address()};
  const Place& p = *model.placed;
  return {draw_kept_or(p.order, gen_index(2)), draw_kept_or(p.customer, gen_index(2)),
          draw_kept_or(p.lines, gen_lines()), draw_kept_or(p.address, gen_address())};
}

// Half of the signals ask for the next step and most name the bound shipment, so that
// sequences get deep into the lifecycle; the rest arrive out of order or mismatched.
Signal draw_signal(const OrderModel& model) {
  const auto any = rc::gen::elementOf(std::vector(kLine.begin() + 1, kLine.end()));
  const int at = position(model.status);
  const bool has_next = at >= 0 && at + 1 < static_cast<int>(kLine.size());
  const auto target =
      has_next ? *rc::gen::weightedOneOf<OrderStatus>({{1, rc::gen::just(kLine[at + 1])}, {1, any}})
               : *any;
  const int usual =
      model.shipment.empty()
          ? 0
          : static_cast<int>(std::ranges::find(kShipments, model.shipment) - kShipments.begin());
  return {target, draw_kept_or(usual, gen_index(static_cast<int>(kShipments.size())))};
}

Spec draw_spec(const OrderModel& model) {
  // Until the order exists, most commands try to create it.
  const std::size_t place = model.status == OrderStatus::kNone ? 8 : 2;
  switch (*rc::gen::weightedElement<int>({{place, 0}, {1, 1}, {8, 2}})) {
    case 0: return draw_place(model);
    case 1: return Cancel{};
    default: return draw_signal(model);
  }
}

class OrderStep final : public rc::state::Command<OrderModel, OrderSut> {
 public:
  explicit OrderStep(const OrderModel& model)
      : spec_(draw_spec(model)), advance_(std::chrono::seconds{*rc::gen::inRange(0, 3600)}) {}

  void apply(OrderModel& model) const override { model = predict(model, spec_).next; }

  void run(const OrderModel& model, OrderSut& sut) const override {
    const Prediction expected = predict(model, spec_);
    const OrderState before = sut.state;
    const auto decision =
        sut.decide(std::visit([](const auto& s) { return to_command(s); }, spec_), advance_);
    check_log(sut);
    check_stamped(sut, decision);
    check_final(model, before, sut, decision);
    if (!sut.compare_with_model) return;
    RC_ASSERT(verdict(decision) == expected.verdict);
    check_matches(expected.next, sut.state);
  }

  void show(std::ostream& os) const override {
    os << describe(spec_) << " after "
       << std::chrono::duration_cast<std::chrono::seconds>(advance_).count() << "s";
  }

 private:
  Spec spec_;
  Duration advance_;
};

void run_sequence(OrderSut& sut) {
  rc::state::check(OrderModel{}, sut, rc::state::gen::execOneOfWithArgs<OrderStep>());
  RC_TAG(to_string(sut.state.status));
}

RC_GTEST_PROP(OrderDeciderModel, KeepsItsLogTerminalStatesAndRaceRule, ()) {
  OrderSut sut;
  sut.compare_with_model = false;
  run_sequence(sut);
}

RC_GTEST_PROP(OrderDeciderModel, AgreesWithTheModel, ()) {
  OrderSut sut;
  run_sequence(sut);
}

}  // namespace
}  // namespace orderflow::core
