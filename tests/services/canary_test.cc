// The services' simulation hooks: each canary changes what a service does in the
// way it names, the orders API's fault point answers 503, and the services' rare
// paths bump their probes. Processors run against an in-memory task context; the
// command producer's idempotence is checked on the simulated cluster.
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/codec/codec.h"
#include "core/ports/memory_state_store.h"
#include "services/aggregate.h"
#include "services/instances.h"
#include "services/orders/command_processor.h"
#include "services/orders/http_api.h"
#include "services/query/projections.h"
#include "services/shipping/shipping.h"
#include "services/topics.h"
#include "sim/world.h"
#include "tests/streams/test_hooks.h"
#include "tests/support/topic_readers.h"

namespace orderflow::services {
namespace {

using namespace std::chrono_literals;
using core::hooks::Canary;
using testing_support::TestHooks;

class NullLog final : public core::Log {
 public:
  void event(core::Severity, std::string_view, core::Fields) override {}
};

// A task of one partition with in-memory stores that keeps what it is sent.
class FakeContext final : public core::TaskContext {
 public:
  [[nodiscard]] core::Partition partition() const override { return core::Partition{0}; }
  [[nodiscard]] core::Timestamp now() const override { return now_; }
  [[nodiscard]] core::Timestamp stream_time() const override { return now_; }
  [[nodiscard]] core::StateStore& store(const std::string& name) override { return stores_[name]; }
  void send(core::ProducerRecord record) override { sent.push_back(std::move(record)); }
  [[nodiscard]] core::Log& log() override { return log_; }

  void advance(core::Duration d) { now_ += d; }

  // The shipment events of type `E` sent to `shipments.events`.
  template <typename E>
  [[nodiscard]] int shipment_events() const {
    int n = 0;
    for (const auto& r : sent) {
      if (r.topic != kShipmentEvents) continue;
      auto decoded = core::decode_event(r.value.value_or(""));
      const auto* event = decoded ? std::get_if<core::ShipmentEvent>(&decoded->event) : nullptr;
      if (event != nullptr && std::holds_alternative<E>(*event)) ++n;
    }
    return n;
  }

  std::vector<core::ProducerRecord> sent;

 private:
  core::Timestamp now_ = core::from_unix_millis(1'800'000'000'000);
  std::map<std::string, core::MemoryStateStore> stores_;
  NullLog log_;
};

// Feeds records to one processor, numbering their offsets.
class Feeder {
 public:
  explicit Feeder(const core::SubTopology& topology)
      : processor_(topology.make_processor(core::Partition{0})) {}

  void event(const std::string& topic, const std::string& key, const std::string& aggregate,
             int version, const auto& event) {
    const core::EventMeta meta{core::EventId{aggregate + "/" + std::to_string(version)},
                               aggregate,
                               core::AggregateVersion{version},
                               ctx.now(),
                               "",
                               ""};
    process(topic, key, core::encode_event(meta, event));
  }
  void command(const std::string& topic, const std::string& key, const std::string& id,
               const auto& command) {
    process(topic, key, core::encode_command({id, key, ctx.now(), "", ""}, command));
  }
  void wall_clock() { processor_->on_wall_clock(ctx); }

  FakeContext ctx;

 private:
  void process(const std::string& topic, const std::string& key, std::string value) {
    const core::ConsumerRecord record{
        {topic, core::Partition{0}}, core::Offset{offset_++}, key, std::move(value), {}, ctx.now()};
    ASSERT_TRUE(processor_->process(record, ctx).has_value()) << "poison on " << topic;
  }

  std::unique_ptr<core::Processor> processor_;
  std::int64_t offset_ = 0;
};

core::OrderPlaced placed(const std::string& order, core::Timestamp at) {
  return {core::OrderId{order},
          core::CustomerId{"c-1"},
          {{core::Sku{"sku-1"}, core::Quantity{2}, core::Cents{500}}},
          {"Ada", "1 Way", "London", "N1", "GB"},
          at};
}

// --- query: projections -----------------------------------------------------

struct ReadModel {
  std::int64_t placed_per_minute = 0;
  core::OrderStatus view_status = core::OrderStatus::kNone;
  std::string customer_status;
};

// An order placed and confirmed, then its placement redelivered.
ReadModel project_with_a_redelivery(TestHooks&) {
  ProjectionWatch watch;
  Feeder feeder(projection_topology(watch));
  const auto t = feeder.ctx.now();
  feeder.event(kOrderEvents, "o-1", "o-1", 1, core::OrderEvent{placed("o-1", t)});
  feeder.event(kOrderEvents, "o-1", "o-1", 2,
               core::OrderEvent{core::OrderConfirmed{core::ShipmentId{"s-o-1"}, t}});
  feeder.event(kOrderEvents, "o-1", "o-1", 1, core::OrderEvent{placed("o-1", t)});

  ReadModel model;
  for (const auto& [minute, n] : read_orders_per_minute(feeder.ctx.store(kOrdersPerMinuteStore))) {
    model.placed_per_minute += n;
  }
  const auto view = read_order_view(feeder.ctx.store(kOrderViewsStore), "o-1");
  if (view) model.view_status = view->order.status;
  const auto orders = read_customer_orders(feeder.ctx.store(kCustomerOrdersStore), "c-1");
  if (orders.size() == 1) model.customer_status = orders.front().status;
  return model;
}

TEST(ServicesCanaryTest, ProjectionWithoutVersionCheckAppliesARedeliveredEventAgain) {
  {
    TestHooks hooks;
    const ReadModel model = project_with_a_redelivery(hooks);
    EXPECT_EQ(model.placed_per_minute, 1);
    EXPECT_EQ(model.view_status, core::OrderStatus::kConfirmed);
    EXPECT_EQ(model.customer_status, "confirmed");
  }
  TestHooks hooks;
  hooks.enable(Canary::kProjectionWithoutVersionCheck);
  const ReadModel model = project_with_a_redelivery(hooks);
  EXPECT_EQ(model.placed_per_minute, 2) << "the placement is counted twice";
  EXPECT_EQ(model.view_status, core::OrderStatus::kPlaced) << "the view went backwards";
  EXPECT_EQ(model.customer_status, "placed");
}

// --- shipping: the stock keeper -----------------------------------------------

core::ShipmentEvent requested(const std::string& order, int quantity, core::Timestamp at) {
  return core::ShipmentRequested{core::ShipmentId{"s-" + order},
                                 core::OrderId{order},
                                 {{core::Sku{"sku-1"}, core::Quantity{quantity}}},
                                 at};
}

// Ten in stock; an order reserves three, then its shipment is cancelled.
core::StockState reserve_then_cancel(TestHooks&) {
  Feeder feeder(stock_topology());
  const auto t = feeder.ctx.now();
  feeder.command(kStockCommands, kWarehouse, "restock-1",
                 core::StockCommand{core::Restock{core::Sku{"sku-1"}, core::Quantity{10}}});
  feeder.event(kStockRequests, kWarehouse, "s-o-1", 1, requested("o-1", 3, t));
  feeder.event(kStockRequests, kWarehouse, "s-o-1", 3,
               core::ShipmentEvent{core::ShipmentCancelled{"order cancelled", true, t}});
  return load<core::StockDecider>(feeder.ctx.store(kStockStore), "sku-1");
}

TEST(ServicesCanaryTest, NoCompensationOnCancelKeepsTheStockReserved) {
  {
    TestHooks hooks;
    const core::StockState stock = reserve_then_cancel(hooks);
    EXPECT_EQ(stock.reserved, core::Quantity{0});
    EXPECT_EQ(stock.available, core::Quantity{10});
  }
  TestHooks hooks;
  hooks.enable(Canary::kNoCompensationOnCancel);
  const core::StockState stock = reserve_then_cancel(hooks);
  EXPECT_EQ(stock.reserved, core::Quantity{3}) << "a cancelled order's stock stays reserved";
  EXPECT_EQ(stock.available, core::Quantity{7});
}

TEST(ServicesProbeTest, AnAllocationShortOfStockBumpsItsProbe) {
  TestHooks hooks;
  Feeder feeder(stock_topology());
  const auto t = feeder.ctx.now();
  feeder.command(kStockCommands, kWarehouse, "restock-1",
                 core::StockCommand{core::Restock{core::Sku{"sku-1"}, core::Quantity{10}}});
  feeder.event(kStockRequests, kWarehouse, "s-o-1", 1, requested("o-1", 4, t));
  EXPECT_EQ(hooks.probes("shipping.out_of_stock"), 0);
  feeder.event(kStockRequests, kWarehouse, "s-o-2", 1, requested("o-2", 7, t));
  EXPECT_EQ(hooks.probes("shipping.out_of_stock"), 1);
}

// --- shipping: shipments ------------------------------------------------------

struct Dispatches {
  int after_packing = 0;   // before the order approved dispatch
  int after_approval = 0;  // once it did
};

// An order's shipment is requested, allocated and packed; then the order approves.
Dispatches pack_then_approve(TestHooks&) {
  Feeder feeder(shipment_topology({.packing = 300ms, .delivery = 1s}));
  const auto t = feeder.ctx.now();
  feeder.event(kOrderEvents, "o-1", "o-1", 1, core::OrderEvent{placed("o-1", t)});
  feeder.command(kShippingCommands, "o-1", "allocate-1",
                 core::ShipmentCommand{core::AllocateShipment{core::WarehouseId{kWarehouse}}});
  feeder.ctx.advance(500ms);
  feeder.wall_clock();  // the packing timer
  Dispatches seen;
  seen.after_packing = feeder.ctx.shipment_events<core::ShipmentDispatched>();
  EXPECT_EQ(feeder.ctx.shipment_events<core::ShipmentPacked>(), 1);
  feeder.event(kOrderEvents, "o-1", "o-1", 3,
               core::OrderEvent{core::OrderDispatchApproved{core::ShipmentId{"s-o-1"}, t}});
  seen.after_approval = feeder.ctx.shipment_events<core::ShipmentDispatched>();
  return seen;
}

TEST(ServicesCanaryTest, DispatchWithoutApprovalDispatchesAsSoonAsPacked) {
  {
    TestHooks hooks;
    const Dispatches seen = pack_then_approve(hooks);
    EXPECT_EQ(seen.after_packing, 0);
    EXPECT_EQ(seen.after_approval, 1);
  }
  TestHooks hooks;
  hooks.enable(Canary::kDispatchWithoutApproval);
  const Dispatches seen = pack_then_approve(hooks);
  EXPECT_EQ(seen.after_packing, 1) << "dispatched before the order approved";
  EXPECT_EQ(seen.after_approval, 1);
}

// --- orders: the command processor --------------------------------------------

TEST(ServicesProbeTest, ACancelAfterDispatchApprovalBumpsItsProbe) {
  TestHooks hooks;
  Feeder feeder(order_command_topology());
  const auto t = feeder.ctx.now();
  auto order = [&](const std::string& id, const std::string& command, core::OrderCommand c) {
    feeder.command(kOrderCommands, id, command + "-" + id, c);
  };
  order("o-1", "place",
        core::PlaceOrder{placed("o-1", t).order, placed("o-1", t).customer, placed("o-1", t).lines,
                         placed("o-1", t).ship_to});
  order("o-1", "cancel", core::CancelOrder{"changed my mind"});
  EXPECT_EQ(hooks.probes("orders.cancel_refused"), 0) << "a cancel in time is no race lost";

  order("o-2", "place",
        core::PlaceOrder{placed("o-2", t).order, placed("o-2", t).customer, placed("o-2", t).lines,
                         placed("o-2", t).ship_to});
  order("o-2", "confirm", core::ConfirmOrder{core::ShipmentId{"s-o-2"}});
  order("o-2", "approve", core::ApproveDispatch{core::ShipmentId{"s-o-2"}});
  order("o-2", "cancel", core::CancelOrder{"too late"});
  EXPECT_EQ(hooks.probes("orders.cancel_refused"), 1);
}

// --- orders: the HTTP API -----------------------------------------------------

// Delivers every record at once.
class AcceptingProducer final : public core::Producer {
 public:
  void send(core::ProducerRecord record, core::DeliveryReport report) override {
    sent.push_back(record);
    report(core::RecordMetadata{{record.topic, core::Partition{0}},
                                core::Offset{static_cast<std::int64_t>(sent.size())}});
  }
  void flush(core::Completion done) override { done({}); }
  void init_transactions(core::Completion done) override { done({}); }
  core::Result<> begin_transaction() override { return {}; }
  void send_offsets_to_transaction(std::vector<core::TopicPartitionOffset>, core::GroupMetadata,
                                   core::Completion done) override {
    done({});
  }
  void commit_transaction(core::Completion done) override { done({}); }
  void abort_transaction(core::Completion done) override { done({}); }

  std::vector<core::ProducerRecord> sent;
};

class FixedClock final : public core::Clock {
 public:
  [[nodiscard]] core::Timestamp now() const override {
    return core::from_unix_millis(1'800'000'000'000);
  }
};

const std::string kOrderBody = R"({"customer_id": "c-1",
  "items": [{"sku": "sku-1", "quantity": 2, "unit_price_cents": 1250}],
  "shipping_address": {"name": "Ada", "street": "1 Way", "city": "London", "country": "GB"}})";

core::HttpRequest place_request(const std::string& key) {
  return {core::HttpMethod::kPost,
          "/orders",
          {{"Content-Type", "application/json"}, {"Idempotency-Key", key}},
          kOrderBody};
}

TEST(ServicesFaultPointTest, ACommandProduceThatTimesOutIsA503) {
  TestHooks hooks;
  AcceptingProducer producer;
  OutcomeTable outcomes;
  FixedClock clock;
  NullLog log;
  OrdersApi api(producer, outcomes, clock, log);
  std::vector<int> statuses;
  auto respond = [&](core::HttpResponse r) { statuses.push_back(r.status); };

  api.handle(place_request("k-1"), respond);
  hooks.fire_every("orders.produce_times_out", 1);
  api.handle(place_request("k-2"), respond);

  EXPECT_EQ(statuses, (std::vector<int>{202, 503}));
  EXPECT_EQ(producer.sent.size(), 2u) << "a timed-out command may still have been stored";
}

// --- orders: the command producer on the simulated cluster --------------------

// Forwards to the host's broker, keeping the options of every producer it makes.
class RecordingBroker final : public core::Broker {
 public:
  explicit RecordingBroker(core::Broker& inner) : inner_(inner) {}

  [[nodiscard]] std::unique_ptr<core::Producer> make_producer(
      core::ProducerOptions options) override {
    producers.push_back(options);
    return inner_.make_producer(std::move(options));
  }
  [[nodiscard]] std::unique_ptr<core::Consumer> make_consumer(
      core::ConsumerOptions options, core::ConsumerHandler& handler) override {
    return inner_.make_consumer(std::move(options), handler);
  }
  void create_topics(std::vector<core::TopicSpec> topics, core::Completion done) override {
    inner_.create_topics(std::move(topics), std::move(done));
  }
  void partition_count(std::string topic, std::function<void(core::Result<int>)> done) override {
    inner_.partition_count(std::move(topic), std::move(done));
  }

  std::vector<core::ProducerOptions> producers;

 private:
  core::Broker& inner_;
};

struct CommandLog {
  std::optional<bool> api_idempotent;  // the command producer's option
  std::size_t records = 0;             // on orders.commands
  std::size_t commands = 0;            // distinct command ids among them
};

// Places orders through the orders API while acknowledgements to it get lost.
CommandLog place_while_acks_are_lost(TestHooks&) {
  sim::World world({.seed = 5});
  for (const auto& spec : service_topics(3)) world.cluster().create_topic(spec);
  sim::Process& host = world.add_process("orders-1");
  host.start();
  sim::Process& client = world.add_process("client");
  client.start();
  testing_support::TopicReaders readers(world, client);
  const auto& commands = readers.read(kOrderCommands);

  RecordingBroker broker(world.broker(host));
  OrdersInstance orders(
      {.broker = broker,
       .scheduler = host.scheduler(),
       .clock = host.clock(),
       .log = host.log(),
       .stores = [&host](const std::string& name, core::Partition p) -> core::StateStore& {
         return host.disk().store(name + "-" + std::to_string(p.value()));
       },
       .instance_id = "orders-1"});
  world.kernel().run_until(world.kernel().now() + 2s);
  world.lose_acks("orders-1", 0.3);
  for (int i = 0; i < 40; ++i) {
    orders.http().handle(place_request("k-" + std::to_string(i)), [](core::HttpResponse) {});
    world.kernel().run_until(world.kernel().now() + 20ms);
  }
  world.kernel().run_until(world.kernel().now() + 10s);

  CommandLog log;
  for (const auto& options : broker.producers) {
    if (options.client_id == "orders-1-api") log.api_idempotent = options.idempotent;
  }
  std::set<std::string> ids;
  for (const auto& r : commands.records) {
    auto decoded = core::decode_command(r.value.value_or(""));
    if (decoded) ids.insert(decoded->meta.command_id);
  }
  log.records = commands.records.size();
  log.commands = ids.size();
  return log;
}

TEST(ServicesCanaryTest, NonIdempotentRetriesStoreACommandTwiceWhenAnAckIsLost) {
  {
    TestHooks hooks;
    const CommandLog log = place_while_acks_are_lost(hooks);
    EXPECT_EQ(log.api_idempotent, true);
    EXPECT_GT(log.commands, 0u);
    EXPECT_EQ(log.records, log.commands);
  }
  TestHooks hooks;
  hooks.enable(Canary::kNonIdempotentRetries);
  const CommandLog log = place_while_acks_are_lost(hooks);
  EXPECT_EQ(log.api_idempotent, false);
  EXPECT_GT(log.records, log.commands) << "a retried batch was appended again";
}

}  // namespace
}  // namespace orderflow::services
