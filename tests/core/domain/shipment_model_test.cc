// Model-based test of the Shipment decider: random command sequences, including invalid,
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

#include "core/domain/shipment.h"
#include "tests/core/domain/decider_sut.h"

namespace orderflow::core {
namespace {

constexpr Timestamp kStart = kModelStart;

// Small pools, so that redeliveries, collisions and mismatched ids are frequent; an empty
// value is always last.
constexpr std::array<std::string_view, 2> kShipmentIds{"sh-1", "sh-2"};
constexpr std::array<std::string_view, 2> kOrderIds{"o-1", "o-2"};
constexpr std::array<std::string_view, 3> kWarehouses{"w-1", "w-2", ""};
constexpr std::array<std::string_view, 3> kCarriers{"dhl", "ups", ""};
constexpr std::array<std::string_view, 3> kTrackings{"t-1", "t-2", ""};

struct LineSet {
  std::vector<ShipmentLine> lines;
  bool valid = true;
};

const std::vector<LineSet>& line_sets() {
  static const std::vector<LineSet> sets{
      {{{Sku{"sku-a"}, Quantity{2}}}},
      {{{Sku{"sku-a"}, Quantity{1}}, {Sku{"sku-b"}, Quantity{20}}}},
      {{}, false},
      {{{Sku{"sku-a"}, Quantity{0}}}, false},
      {{{Sku{""}, Quantity{3}}}, false},
  };
  return sets;
}

// Commands, named by indexes into the pools above so that the model compares plain numbers.
struct Request {
  int shipment = 0;
  int order = 0;
  int lines = 0;
  friend bool operator==(const Request&, const Request&) = default;
};
struct Allocate {
  int warehouse = 0;
};
struct Fail {};
struct Pack {};
struct Dispatch {
  int carrier = 0;
  int tracking = 0;
};
struct Deliver {};
struct Cancel {};
using Spec = std::variant<Request, Allocate, Fail, Pack, Dispatch, Deliver, Cancel>;

ShipmentCommand to_command(const Request& r) {
  return RequestShipment{ShipmentId{kShipmentIds[r.shipment]}, OrderId{kOrderIds[r.order]},
                         line_sets()[r.lines].lines};
}
ShipmentCommand to_command(const Allocate& a) {
  return AllocateShipment{WarehouseId{kWarehouses[a.warehouse]}};
}
ShipmentCommand to_command(const Fail&) { return FailAllocation{"no stock anywhere"}; }
ShipmentCommand to_command(const Pack&) { return PackShipment{}; }
ShipmentCommand to_command(const Dispatch& d) {
  return DispatchShipment{std::string(kCarriers[d.carrier]), std::string(kTrackings[d.tracking])};
}
ShipmentCommand to_command(const Deliver&) { return DeliverShipment{}; }
ShipmentCommand to_command(const Cancel&) { return CancelShipment{"order cancelled"}; }

std::string describe(const Request& r) {
  return "RequestShipment{" + std::string(kShipmentIds[r.shipment]) + " " +
         std::string(kOrderIds[r.order]) + " lines#" + std::to_string(r.lines) + "}";
}
std::string describe(const Allocate& a) {
  return "AllocateShipment{" + std::string(kWarehouses[a.warehouse]) + "}";
}
std::string describe(const Fail&) { return "FailAllocation"; }
std::string describe(const Pack&) { return "PackShipment"; }
std::string describe(const Dispatch& d) {
  return "DispatchShipment{" + std::string(kCarriers[d.carrier]) + " " +
         std::string(kTrackings[d.tracking]) + "}";
}
std::string describe(const Deliver&) { return "DeliverShipment"; }
std::string describe(const Cancel&) { return "CancelShipment"; }

// The model: where the shipment is, what was requested, and what allocation, dispatch and
// cancellation recorded.
struct ShipmentModel {
  ShipmentStatus status = ShipmentStatus::kNone;
  std::optional<Request> requested;
  std::string warehouse;
  std::string carrier;
  std::string tracking;
  bool release_stock = false;
};

// What a command is predicted to do ("1 event", "no events", "rejected: <code>") and the
// model afterwards.
struct Prediction {
  std::string verdict;
  ShipmentModel next;
};

Prediction rejected(const ShipmentModel& m, RejectionCode code) {
  return {"rejected: " + std::string(to_string(code)), m};
}
Prediction unchanged(const ShipmentModel& m) { return {"no events", m}; }
Prediction moved(ShipmentModel m, ShipmentStatus status) {
  m.status = status;
  return {"1 event", std::move(m)};
}

bool terminal(ShipmentStatus status) {
  return status == ShipmentStatus::kDelivered || status == ShipmentStatus::kCancelled ||
         status == ShipmentStatus::kFailed;
}

// The forward line; cancelled and failed are off it.
constexpr std::array kLine{ShipmentStatus::kRequested, ShipmentStatus::kAllocated,
                           ShipmentStatus::kPacked, ShipmentStatus::kDispatched,
                           ShipmentStatus::kDelivered};

int position(ShipmentStatus status) {
  const auto* it = std::ranges::find(kLine, status);
  return it == kLine.end() ? -1 : static_cast<int>(it - kLine.begin());
}

// Where a forward step to some target stands: to be taken now, already taken, or refused.
enum class Stage { kMissing, kOffLine, kTooEarly, kDone, kNext };

Stage stage(const ShipmentModel& m, ShipmentStatus target) {
  if (m.status == ShipmentStatus::kNone) return Stage::kMissing;
  const int at = position(m.status);
  if (at < 0) return Stage::kOffLine;
  if (at >= position(target)) return Stage::kDone;
  return at + 1 == position(target) ? Stage::kNext : Stage::kTooEarly;
}

// The outcome of a forward step that is not taken now.
Prediction not_taken(const ShipmentModel& m, Stage s) {
  switch (s) {
    case Stage::kMissing: return rejected(m, RejectionCode::kNotFound);
    case Stage::kOffLine:
    case Stage::kTooEarly: return rejected(m, RejectionCode::kConflict);
    default: return unchanged(m);
  }
}

Prediction predict(const ShipmentModel& m, const Request& r) {
  if (!line_sets()[r.lines].valid) return rejected(m, RejectionCode::kInvalid);
  if (m.status == ShipmentStatus::kNone) {
    ShipmentModel next = m;
    next.requested = r;
    return moved(next, ShipmentStatus::kRequested);
  }
  // A redelivery of the same request, for the same shipment, changes nothing.
  if (m.requested == r) return unchanged(m);
  return rejected(m, RejectionCode::kAlreadyExists);
}

Prediction predict(const ShipmentModel& m, const Allocate& a) {
  const std::string warehouse(kWarehouses[a.warehouse]);
  if (warehouse.empty()) return rejected(m, RejectionCode::kInvalid);
  const Stage s = stage(m, ShipmentStatus::kAllocated);
  // A redelivered allocation must name the warehouse that holds the stock.
  if (s == Stage::kDone && warehouse != m.warehouse) return rejected(m, RejectionCode::kConflict);
  if (s != Stage::kNext) return not_taken(m, s);
  ShipmentModel next = m;
  next.warehouse = warehouse;
  return moved(next, ShipmentStatus::kAllocated);
}

Prediction predict(const ShipmentModel& m, const Fail&) {
  switch (m.status) {
    case ShipmentStatus::kNone: return rejected(m, RejectionCode::kNotFound);
    case ShipmentStatus::kRequested: return moved(m, ShipmentStatus::kFailed);
    case ShipmentStatus::kFailed: return unchanged(m);
    default: return rejected(m, RejectionCode::kConflict);
  }
}

Prediction predict(const ShipmentModel& m, const Pack&) {
  const Stage s = stage(m, ShipmentStatus::kPacked);
  return s == Stage::kNext ? moved(m, ShipmentStatus::kPacked) : not_taken(m, s);
}

Prediction predict(const ShipmentModel& m, const Dispatch& d) {
  const std::string carrier(kCarriers[d.carrier]);
  const std::string tracking(kTrackings[d.tracking]);
  if (carrier.empty() || tracking.empty()) return rejected(m, RejectionCode::kInvalid);
  const Stage s = stage(m, ShipmentStatus::kDispatched);
  // A redelivered dispatch must name the parcel that left.
  const bool other = carrier != m.carrier || tracking != m.tracking;
  if (s == Stage::kDone && other) return rejected(m, RejectionCode::kConflict);
  if (s != Stage::kNext) return not_taken(m, s);
  ShipmentModel next = m;
  next.carrier = carrier;
  next.tracking = tracking;
  return moved(next, ShipmentStatus::kDispatched);
}

Prediction predict(const ShipmentModel& m, const Deliver&) {
  const Stage s = stage(m, ShipmentStatus::kDelivered);
  return s == Stage::kNext ? moved(m, ShipmentStatus::kDelivered) : not_taken(m, s);
}

Prediction predict(const ShipmentModel& m, const Cancel&) {
  switch (m.status) {
    case ShipmentStatus::kNone: return rejected(m, RejectionCode::kNotFound);
    case ShipmentStatus::kRequested:
    case ShipmentStatus::kAllocated:
    case ShipmentStatus::kPacked: {
      ShipmentModel next = m;
      next.release_stock = m.status != ShipmentStatus::kRequested;
      return moved(next, ShipmentStatus::kCancelled);
    }
    case ShipmentStatus::kCancelled:
    case ShipmentStatus::kFailed: return unchanged(m);
    default: return rejected(m, RejectionCode::kConflict);
  }
}

Prediction predict(const ShipmentModel& m, const Spec& spec) {
  return std::visit([&](const auto& s) { return predict(m, s); }, spec);
}

using ShipmentSut = DeciderSut<ShipmentDecider>;

void check_log(const ShipmentSut& sut) {
  RC_ASSERT(fold<ShipmentDecider>(sut.log) == sut.state);
  RC_ASSERT(sut.state.version == AggregateVersion{static_cast<std::int64_t>(sut.log.size())});
  // A shipment that left with a carrier was never cancelled, and the other way round.
  RC_ASSERT(!(logged<ShipmentCancelled>(sut.log) && logged<ShipmentDispatched>(sut.log)));
}

// Events carry the time of the decision that produced them.
void check_stamped(const ShipmentSut& sut, const Decision<ShipmentEvent>& decision) {
  if (decision && !decision->empty()) RC_ASSERT(sut.state.updated_at == sut.now);
}

void check_final(const ShipmentModel& model, const ShipmentState& before, const ShipmentSut& sut,
                 const Decision<ShipmentEvent>& decision) {
  if (!terminal(model.status)) return;
  RC_ASSERT(!decision || decision->empty());
  RC_ASSERT(sut.state == before);
}

// Whether the cancellation in the log asked for reserved stock to be released.
bool released_stock(const std::vector<ShipmentEvent>& log) {
  for (const auto& event : log) {
    if (const auto* c = std::get_if<ShipmentCancelled>(&event)) return c->release_stock;
  }
  return false;
}

void check_matches(const ShipmentModel& model, const ShipmentSut& sut) {
  const ShipmentState& state = sut.state;
  RC_ASSERT(to_string(state.status) == to_string(model.status));
  RC_ASSERT(state.warehouse.str() == model.warehouse);
  RC_ASSERT(state.carrier == model.carrier);
  RC_ASSERT(state.tracking == model.tracking);
  RC_ASSERT(released_stock(sut.log) == model.release_stock);
  if (!model.requested) return;
  RC_ASSERT(state.shipment.str() == kShipmentIds[model.requested->shipment]);
  RC_ASSERT(state.order.str() == kOrderIds[model.requested->order]);
  RC_ASSERT(state.lines == line_sets()[model.requested->lines].lines);
}

// Fresh draws mostly pick valid contents; the last choices of each pool are invalid.
rc::Gen<int> gen_index(int size) { return rc::gen::inRange(0, size); }
rc::Gen<int> gen_lines() {
  return rc::gen::weightedElement<int>({{3, 0}, {3, 1}, {1, 2}, {1, 3}, {1, 4}});
}

// Keeps `kept` three times out of four, so that most commands repeat what came before.
// Like every `draw_`, it runs inside a generator (command constructors run in one).
int draw_kept_or(int kept, const rc::Gen<int>& fresh) {
  return *rc::gen::weightedOneOf<int>({{3, rc::gen::just(kept)}, {1, fresh}});
}

// Index of `value` in `pool`, or 0 while nothing is recorded.
template <std::size_t N>
int index_in(const std::array<std::string_view, N>& pool, const std::string& value) {
  if (value.empty()) return 0;
  return static_cast<int>(std::ranges::find(pool, value) - pool.begin());
}

Request draw_request(const ShipmentModel& model) {
  if (!model.requested) return {*gen_index(2), *gen_index(2), *gen_lines()};
  const Request& r = *model.requested;
  return {draw_kept_or(r.shipment, gen_index(2)), draw_kept_or(r.order, gen_index(2)),
          draw_kept_or(r.lines, gen_lines())};
}

Allocate draw_allocate(const ShipmentModel& model) {
  return {draw_kept_or(index_in(kWarehouses, model.warehouse), gen_index(3))};
}

Dispatch draw_dispatch(const ShipmentModel& model) {
  return {draw_kept_or(index_in(kCarriers, model.carrier), gen_index(3)),
          draw_kept_or(index_in(kTrackings, model.tracking), gen_index(3))};
}

// The command kinds, in the order of `Spec`.
enum class Kind { kRequest, kAllocate, kFail, kPack, kDispatch, kDeliver, kCancel };

// The kind that takes the shipment one step further, favoured so that sequences get deep
// into the lifecycle; every other kind still arrives out of order.
Kind next_kind(ShipmentStatus status) {
  switch (status) {
    case ShipmentStatus::kRequested: return Kind::kAllocate;
    case ShipmentStatus::kAllocated: return Kind::kPack;
    case ShipmentStatus::kPacked: return Kind::kDispatch;
    case ShipmentStatus::kDispatched: return Kind::kDeliver;
    default: return Kind::kRequest;
  }
}

Spec draw_spec(const ShipmentModel& model) {
  const Kind next = next_kind(model.status);
  auto weight = [&](Kind k, std::size_t base) -> std::size_t { return k == next ? 10 : base; };
  switch (*rc::gen::weightedElement<Kind>({{weight(Kind::kRequest, 2), Kind::kRequest},
                                           {weight(Kind::kAllocate, 2), Kind::kAllocate},
                                           {weight(Kind::kFail, 1), Kind::kFail},
                                           {weight(Kind::kPack, 2), Kind::kPack},
                                           {weight(Kind::kDispatch, 2), Kind::kDispatch},
                                           {weight(Kind::kDeliver, 2), Kind::kDeliver},
                                           {weight(Kind::kCancel, 1), Kind::kCancel}})) {
    case Kind::kRequest: return draw_request(model);
    case Kind::kAllocate: return draw_allocate(model);
    case Kind::kFail: return Fail{};
    case Kind::kPack: return Pack{};
    case Kind::kDispatch: return draw_dispatch(model);
    case Kind::kDeliver: return Deliver{};
    case Kind::kCancel: return Cancel{};
  }
  return Cancel{};
}

class ShipmentStep final : public rc::state::Command<ShipmentModel, ShipmentSut> {
 public:
  explicit ShipmentStep(const ShipmentModel& model)
      : spec_(draw_spec(model)), advance_(std::chrono::seconds{*rc::gen::inRange(0, 3600)}) {}

  void apply(ShipmentModel& model) const override { model = predict(model, spec_).next; }

  void run(const ShipmentModel& model, ShipmentSut& sut) const override {
    const Prediction expected = predict(model, spec_);
    const ShipmentState before = sut.state;
    const auto decision =
        sut.decide(std::visit([](const auto& s) { return to_command(s); }, spec_), advance_);
    check_log(sut);
    check_stamped(sut, decision);
    check_final(model, before, sut, decision);
    if (!sut.compare_with_model) return;
    RC_ASSERT(verdict(decision) == expected.verdict);
    check_matches(expected.next, sut);
  }

  void show(std::ostream& os) const override {
    os << std::visit([](const auto& s) { return describe(s); }, spec_) << " after "
       << std::chrono::duration_cast<std::chrono::seconds>(advance_).count() << "s";
  }

 private:
  Spec spec_;
  Duration advance_;
};

void run_sequence(ShipmentSut& sut) {
  rc::state::check(ShipmentModel{}, sut, rc::state::gen::execOneOfWithArgs<ShipmentStep>());
  RC_TAG(to_string(sut.state.status));
}

RC_GTEST_PROP(ShipmentDeciderModel, KeepsItsLogTerminalStatesAndRaceRule, ()) {
  ShipmentSut sut;
  sut.compare_with_model = false;
  run_sequence(sut);
}

RC_GTEST_PROP(ShipmentDeciderModel, AgreesWithTheModel, ()) {
  ShipmentSut sut;
  run_sequence(sut);
}

}  // namespace
}  // namespace orderflow::core
