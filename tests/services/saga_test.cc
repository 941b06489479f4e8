// Orders and shipping together on the simulated cluster: every order ends
// delivered or cancelled, never both dispatched and cancelled, and the warehouse
// conserves its stock — with crashes of either service in the middle.
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/codec/codec.h"
#include "core/murmur2.h"
#include "core/streams/streams.h"
#include "services/orders/command_processor.h"
#include "services/query/projections.h"
#include "services/shipping/shipping.h"
#include "services/topics.h"
#include "sim/world.h"
#include "tests/support/recording_handler.h"
#include "tests/support/topic_readers.h"

namespace orderflow::services {
namespace {

using namespace std::chrono_literals;
using sim::Process;
using testing_support::RecordingHandler;

struct Service {
  ProjectionWatch watch;
  std::unique_ptr<core::StreamsRuntime> runtime;
};

std::shared_ptr<void> boot(sim::World& world, Process& self, const std::string& application,
                           std::vector<core::SubTopology> topologies) {
  auto service = std::make_shared<Service>();
  if (topologies.empty()) topologies.push_back(projection_topology(service->watch));
  core::StreamsConfig config{.application_id = application,
                             .instance_id = self.name(),
                             .topologies = std::move(topologies),
                             .wall_clock_punctuation = 100ms,
                             .session_timeout = 6s,
                             .heartbeat_interval = 1s};
  service->runtime = std::make_unique<core::StreamsRuntime>(
      world.broker(self), self.scheduler(), self.clock(), self.log(),
      [&self](const std::string& name, core::Partition p) -> core::StateStore& {
        return self.disk().store(name + "-" + std::to_string(p.value()));
      },
      config);
  service->runtime->start();
  return service;
}

class SagaTest : public testing::TestWithParam<std::uint64_t> {
 protected:
  SagaTest() : world_({.seed = GetParam()}) {
    for (const char* topic : {kOrderCommands, kOrderEvents, kOrderOutcomes, kShipmentEvents,
                              kShippingCommands, kStockEvents}) {
      world_.cluster().create_topic({topic, 3, 3, false});
    }
    for (const char* topic : {kStockRequests, kStockCommands}) {
      world_.cluster().create_topic({topic, 1, 3, false});
    }
    add("orders-1", "orders", {order_command_topology()});
    add("shipping-1", "shipping", {shipment_topology(), stock_topology()});
    add("query-1", "query-query-1", {});  // the projections
    client_ = &world_.add_process("client");
    client_->start();
    readers_ = std::make_unique<testing_support::TopicReaders>(world_, *client_);
    producer_ = world_.broker(*client_).make_producer({.client_id = "client"});
    orders_ = &read(kOrderEvents);
    shipments_ = &read(kShipmentEvents);
    stock_ = &read(kStockEvents);
  }

  void add(const std::string& name, const std::string& application,
           std::vector<core::SubTopology> topologies) {
    Process& p = world_.add_process(name);
    p.set_boot([this, application, topologies](Process& self) {
      return boot(world_, self, application, topologies);
    });
    p.start();
  }

  RecordingHandler& read(const std::string& topic) { return readers_->read(topic); }

  void send(const std::string& topic, const std::string& key, std::string value) {
    producer_->send({topic, key, std::move(value), {}, std::nullopt},
                    [](core::Result<core::RecordMetadata> r) { ASSERT_TRUE(r.has_value()); });
  }

  void restock(const std::string& sku, int quantity) {
    send(kStockCommands, kWarehouse,
         core::encode_command(
             {"restock-" + sku, sku, world_.kernel().now(), "", ""},
             core::StockCommand{core::Restock{core::Sku{sku}, core::Quantity{quantity}}}));
  }

  void place(int n, int quantity) {
    const std::string order = "o-" + std::to_string(n);
    const core::PlaceOrder command{
        core::OrderId{order},
        core::CustomerId{"c-1"},
        {{core::Sku{"sku-" + std::to_string(n % 3)}, core::Quantity{quantity}, core::Cents{500}}},
        {"Ada", "1 Way", "London", "N1", "GB"}};
    send(kOrderCommands, order,
         core::encode_command({"place-" + order, order, world_.kernel().now(), "", order},
                              core::OrderCommand{command}));
  }

  void cancel(int n) {
    const std::string order = "o-" + std::to_string(n);
    send(kOrderCommands, order,
         core::encode_command({"cancel-" + order, order, world_.kernel().now(), "", order},
                              core::OrderCommand{core::CancelOrder{"changed my mind"}}));
  }

  void run_for(core::Duration d) { world_.kernel().run_until(world_.kernel().now() + d); }

  void expect_settled(int orders) {
    const auto order_states = testing_support::fold_events<core::OrderDecider>(*orders_);
    const auto shipment_states = testing_support::fold_events<core::ShipmentDecider>(*shipments_);
    const auto stock_states = testing_support::fold_events<core::StockDecider>(*stock_);
    ASSERT_EQ(order_states.size(), static_cast<std::size_t>(orders));
    for (const auto& [id, order] : order_states) {
      EXPECT_TRUE(order.terminal()) << id << " is " << to_string(order.status);
      auto shipment = shipment_states.find("s-" + id);
      if (order.status == core::OrderStatus::kCancelled && shipment != shipment_states.end()) {
        EXPECT_NE(shipment->second.status, core::ShipmentStatus::kDispatched) << id;
        EXPECT_NE(shipment->second.status, core::ShipmentStatus::kDelivered) << id;
      }
    }
    for (const auto& [sku, s] : stock_states) {
      EXPECT_TRUE(s.conserved()) << sku;
      EXPECT_EQ(s.reserved, core::Quantity{0}) << sku << ": stock left reserved";
    }
    expect_read_model(order_states, shipment_states);
  }

  // The query service's read model equals the fold of the source logs.
  void expect_read_model(const std::map<std::string, core::OrderState>& orders,
                         const std::map<std::string, core::ShipmentState>& shipments) {
    sim::Disk& disk = world_.process("query-1").disk();
    std::int64_t per_minute = 0;
    std::size_t customer_orders = 0;
    for (int p = 0; p < 3; ++p) {
      const std::string suffix = "-" + std::to_string(p);
      for (const auto& [minute, n] :
           read_orders_per_minute(disk.store(kOrdersPerMinuteStore + suffix))) {
        per_minute += n;
      }
      customer_orders +=
          read_customer_orders(disk.store(kCustomerOrdersStore + suffix), "c-1").size();
    }
    EXPECT_EQ(per_minute, static_cast<std::int64_t>(orders.size()));
    EXPECT_EQ(customer_orders, orders.size());
    for (const auto& [id, order] : orders) {
      const auto p = core::partition_for_key(id, 3).value();
      const auto view =
          read_order_view(disk.store(kOrderViewsStore + ("-" + std::to_string(p))), id);
      ASSERT_TRUE(view.has_value()) << id;
      EXPECT_EQ(view->order, order) << id;
      auto shipment = shipments.find("s-" + id);
      if (shipment != shipments.end()) {
        EXPECT_EQ(view->shipment, shipment->second) << id;
      }
    }
  }

  sim::World world_;
  Process* client_ = nullptr;
  std::unique_ptr<core::Producer> producer_;
  std::unique_ptr<testing_support::TopicReaders> readers_;
  RecordingHandler* orders_ = nullptr;
  RecordingHandler* shipments_ = nullptr;
  RecordingHandler* stock_ = nullptr;
};

TEST_P(SagaTest, OrdersEndDeliveredOrCancelledAndStockIsConserved) {
  for (int sku = 0; sku < 3; ++sku) restock("sku-" + std::to_string(sku), 40);
  run_for(2s);
  for (int n = 0; n < 60; ++n) {
    place(n, 1 + n % 4);
    if (n % 5 == 0) cancel(n);
    if (n % 7 == 0) {
      run_for(200ms);
      cancel(n);  // may lose the race against dispatch approval
    }
    run_for(50ms);
  }
  run_for(30s);
  expect_settled(60);
}

TEST_P(SagaTest, CrashesOfEitherServiceLoseNothing) {
  for (int sku = 0; sku < 3; ++sku) restock("sku-" + std::to_string(sku), 40);
  run_for(2s);
  for (int n = 0; n < 60; ++n) {
    place(n, 1 + n % 4);
    if (n % 6 == 0) cancel(n);
    if (n == 20) world_.crash("shipping-1");
    if (n == 25) world_.process("shipping-1").start();
    if (n == 30) world_.crash("query-1");
    if (n == 33) world_.process("query-1").start();
    if (n == 40) world_.crash("orders-1");
    if (n == 42) world_.process("orders-1").start();
    run_for(100ms);
  }
  run_for(40s);
  expect_settled(60);
}

INSTANTIATE_TEST_SUITE_P(Seeds, SagaTest, testing::Values(1, 2, 3));

}  // namespace
}  // namespace orderflow::services
