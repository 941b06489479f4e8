// The orders command processor on the simulated cluster: commands become events
// and outcomes, once per command id, and shipment events drive the saga.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/codec/codec.h"
#include "core/streams/streams.h"
#include "services/orders/command_processor.h"
#include "services/topics.h"
#include "sim/world.h"
#include "tests/support/recording_handler.h"
#include "tests/support/topic_readers.h"

namespace orderflow::services {
namespace {

using namespace std::chrono_literals;
using core::ConsumerRecord;
using sim::Process;

using Reader = testing_support::RecordingHandler;

struct Service {
  std::unique_ptr<core::StreamsRuntime> runtime;
};

class OrdersTest : public testing::Test {
 protected:
  OrdersTest() : world_({.seed = 11}) {
    for (const char* topic : {kOrderCommands, kOrderEvents, kOrderOutcomes, kShipmentEvents}) {
      world_.cluster().create_topic({topic, 3, 3, false});
    }
    world_.cluster().create_topic({std::string(kOrderCommands) + ".dlq", 1, 3, false});
    Process& p = world_.add_process("orders-1");
    p.set_boot([this](Process& self) {
      auto service = std::make_shared<Service>();
      core::StreamsConfig config{.application_id = "orders",
                                 .instance_id = self.name(),
                                 .topologies = {order_command_topology()},
                                 .session_timeout = 6s,
                                 .heartbeat_interval = 1s};
      service->runtime = std::make_unique<core::StreamsRuntime>(
          world_.broker(self), self.scheduler(), self.clock(), self.log(),
          [&self](const std::string& name, core::Partition partition) -> core::StateStore& {
            return self.disk().store(name + "-" + std::to_string(partition.value()));
          },
          config);
      service->runtime->start();
      return service;
    });
    p.start();
    client_ = &world_.add_process("client");
    client_->start();
    readers_ = std::make_unique<testing_support::TopicReaders>(world_, *client_);
    producer_ = world_.broker(*client_).make_producer({.client_id = "client"});
    events_ = &read(kOrderEvents);
    outcomes_ = &read(kOrderOutcomes);
    dlq_ = &read(std::string(kOrderCommands) + ".dlq");
  }

  Reader& read(const std::string& topic) { return readers_->read(topic); }

  void send(const std::string& topic, const std::string& key, std::string value) {
    producer_->send({topic, key, std::move(value), {}, std::nullopt},
                    [](core::Result<core::RecordMetadata> r) { ASSERT_TRUE(r.has_value()); });
  }

  void command(const std::string& id, const std::string& order, const core::OrderCommand& c) {
    send(kOrderCommands, order,
         core::encode_command({id, order, world_.kernel().now(), "", "corr-" + id}, c));
  }

  void shipment_event(const std::string& event_id, const std::string& order, int version,
                      const core::ShipmentEvent& e) {
    const core::EventMeta meta{
        core::EventId{event_id}, "s-" + order, core::AggregateVersion{version},
        world_.kernel().now(),   "",           ""};
    send(kShipmentEvents, order, core::encode_event(meta, e));
  }

  void settle() { world_.kernel().run_until(world_.kernel().now() + 5s); }

  std::vector<std::string> event_types(const std::string& order) const {
    std::vector<std::string> types;
    for (const auto& r : events_->records) {
      auto e = core::decode_event(*r.value);
      if (e && e->meta.aggregate_id == order) types.push_back(e->event_type);
    }
    return types;
  }

  std::vector<core::CommandOutcome> outcomes(const std::string& command_id) const {
    std::vector<core::CommandOutcome> found;
    for (const auto& r : outcomes_->records) {
      auto o = core::decode_outcome(*r.value);
      if (o && o->command_id == command_id) found.push_back(*o);
    }
    return found;
  }

  static core::PlaceOrder place(const std::string& order) {
    return {core::OrderId{order},
            core::CustomerId{"c-1"},
            {{core::Sku{"sku-1"}, core::Quantity{2}, core::Cents{500}}},
            {"Ada", "1 Way", "London", "N1", "GB"}};
  }

  sim::World world_;
  Process* client_ = nullptr;
  std::unique_ptr<core::Producer> producer_;
  std::unique_ptr<testing_support::TopicReaders> readers_;
  Reader* events_ = nullptr;
  Reader* outcomes_ = nullptr;
  Reader* dlq_ = nullptr;
};

TEST_F(OrdersTest, APlacedOrderIsAnEventAndAnAcceptedOutcome) {
  command("cmd-1", "o-1", place("o-1"));
  settle();
  EXPECT_EQ(event_types("o-1"), std::vector<std::string>{"OrderPlaced"});
  const auto found = outcomes("cmd-1");
  ASSERT_EQ(found.size(), 1u);
  ASSERT_TRUE(found[0].result.has_value());
  EXPECT_EQ(*found[0].result, core::AggregateVersion{1});
}

TEST_F(OrdersTest, ARepeatedCommandIdIsAppliedOnce) {
  command("cmd-1", "o-1", place("o-1"));
  command("cmd-1", "o-1", place("o-1"));
  command("cmd-2", "o-1", core::CancelOrder{"changed my mind"});
  command("cmd-2", "o-1", core::CancelOrder{"changed my mind"});
  settle();
  EXPECT_EQ(event_types("o-1"), (std::vector<std::string>{"OrderPlaced", "OrderCancelled"}));
  EXPECT_EQ(outcomes("cmd-1").size(), 1u);
  EXPECT_EQ(outcomes("cmd-2").size(), 1u);
}

TEST_F(OrdersTest, ARejectedCommandHasARejectedOutcome) {
  command("cmd-9", "o-9", core::CancelOrder{"no such order"});
  settle();
  const auto found = outcomes("cmd-9");
  ASSERT_EQ(found.size(), 1u);
  ASSERT_FALSE(found[0].result.has_value());
  EXPECT_EQ(found[0].result.error().code, core::RejectionCode::kNotFound);
  EXPECT_TRUE(event_types("o-9").empty());
}

// Commands and shipment events come from different topics, whose records have no
// order between them; the steps settle in turn, as causality orders them for real.
TEST_F(OrdersTest, ShipmentEventsWalkTheOrderToDelivered) {
  command("cmd-1", "o-1", place("o-1"));
  settle();
  shipment_event("se-1", "o-1", 2, core::ShipmentAllocated{core::WarehouseId{"wh"}, {}});
  shipment_event("se-2", "o-1", 3, core::ShipmentPacked{});
  shipment_event("se-2", "o-1", 3, core::ShipmentPacked{});  // redelivered
  shipment_event("se-3", "o-1", 4, core::ShipmentDispatched{"dhl", "t-1", {}});
  shipment_event("se-4", "o-1", 5, core::ShipmentDelivered{});
  settle();
  EXPECT_EQ(event_types("o-1"),
            (std::vector<std::string>{"OrderPlaced", "OrderConfirmed", "OrderDispatchApproved",
                                      "OrderShipped", "OrderDelivered"}));
}

TEST_F(OrdersTest, ACancelDecidedFirstRefusesTheDispatch) {
  command("cmd-1", "o-1", place("o-1"));
  settle();
  shipment_event("se-1", "o-1", 2, core::ShipmentAllocated{core::WarehouseId{"wh"}, {}});
  settle();
  command("cmd-2", "o-1", core::CancelOrder{"too slow"});
  settle();
  shipment_event("se-2", "o-1", 3, core::ShipmentPacked{});
  settle();
  EXPECT_EQ(event_types("o-1"),
            (std::vector<std::string>{"OrderPlaced", "OrderConfirmed", "OrderCancelled"}));
  const auto refused = outcomes("saga/se-2");
  ASSERT_EQ(refused.size(), 1u);
  ASSERT_FALSE(refused[0].result.has_value());
  EXPECT_EQ(refused[0].result.error().code, core::RejectionCode::kConflict);
}

TEST_F(OrdersTest, APoisonCommandGoesToTheDeadLetterTopicAndProcessingGoesOn) {
  send(kOrderCommands, "o-1", "definitely not protobuf");
  command("cmd-1", "o-1", place("o-1"));
  settle();
  ASSERT_EQ(dlq_->records.size(), 1u);
  EXPECT_EQ(event_types("o-1"), std::vector<std::string>{"OrderPlaced"});
}

TEST_F(OrdersTest, DeduplicationSurvivesARestart) {
  command("cmd-1", "o-1", place("o-1"));
  settle();
  world_.crash("orders-1");
  world_.process("orders-1").start();
  command("cmd-1", "o-1", place("o-1"));
  world_.kernel().run_until(world_.kernel().now() + 15s);
  EXPECT_EQ(event_types("o-1"), std::vector<std::string>{"OrderPlaced"});
  EXPECT_EQ(outcomes("cmd-1").size(), 1u);
}

}  // namespace
}  // namespace orderflow::services
