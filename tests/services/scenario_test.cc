// The whole system on the simulated cluster: 3 orders, 2 shipping and 2 query
// instances; 1,000 orders placed and some cancelled over HTTP by clients that
// time out and retry; instances of every service crash and come back, and one is
// paused until it is a zombie. At the end
// every order is delivered or cancelled, each query instance's read model equals
// the fold of the event logs, and the warehouse conserved its stock.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/codec/codec.h"
#include "core/json/json.h"
#include "core/murmur2.h"
#include "services/instances.h"
#include "services/topics.h"
#include "sim/http_client.h"
#include "sim/world.h"
#include "tests/support/recording_handler.h"
#include "tests/support/topic_readers.h"

namespace orderflow::services {
namespace {

using namespace std::chrono_literals;
using sim::Process;
using testing_support::RecordingHandler;

constexpr int kPartitions = 3;
constexpr int kOrders = 1000;
constexpr int kSkus = 5;

InstanceEnv env_of(sim::World& world, Process& self) {
  return {world.broker(self),
          self.scheduler(),
          self.clock(),
          self.log(),
          [&self](const std::string& name, core::Partition p) -> core::StateStore& {
            return self.disk().store(name + "-" + std::to_string(p.value()));
          },
          self.name()};
}

template <typename Instance, typename... Args>
Process::Boot boot(sim::World& world, Args... args) {
  return [&world, args...](Process& self) {
    auto instance = std::make_shared<Instance>(env_of(world, self), args...);
    if constexpr (requires { instance->http(); }) self.serve_http(&instance->http());
    return instance;
  };
}

std::string order_body(int n) {
  return R"({"customer_id": "c-)" + std::to_string(n % 17) + R"(", "items": [{"sku": "sku-)" +
         std::to_string(n % kSkus) + R"(", "quantity": )" + std::to_string(1 + n % 3) +
         R"(, "unit_price_cents": 999}], "shipping_address": {"name": "Ada", "street": "1 Way",
         "city": "London", "country": "GB"}})";
}

class ScenarioTest : public testing::Test {
 protected:
  ScenarioTest() : world_({.seed = 2027}) {
    world_.kernel().trace().set_sink(
        [this](const sim::TraceEvent& e) { ++events_[e.process + " " + e.name]; });
    for (const auto& spec : service_topics(kPartitions)) world_.cluster().create_topic(spec);
    for (int i = 1; i <= 3; ++i) add("orders-" + std::to_string(i), boot<OrdersInstance>(world_));
    for (int i = 1; i <= 2; ++i) {
      add("shipping-" + std::to_string(i), boot<ShippingInstance>(world_, ShippingTimings{}));
      add("query-" + std::to_string(i), boot<QueryInstance>(world_, kPartitions));
    }
    client_ = &world_.add_process("clients");
    client_->start();
    readers_ = std::make_unique<testing_support::TopicReaders>(world_, *client_);
    http_ = std::make_unique<sim::HttpClient>(world_, *client_);
    producer_ = world_.broker(*client_).make_producer({.client_id = "warehouse"});
    orders_ = &read(kOrderEvents);
    shipments_ = &read(kShipmentEvents);
    stock_ = &read(kStockEvents);
  }

  void add(const std::string& name, Process::Boot boot) {
    Process& p = world_.add_process(name);
    p.set_boot(std::move(boot));
    p.start();
  }

  RecordingHandler& read(const std::string& topic) { return readers_->read(topic); }

  void restock(int sku, int quantity) {
    const std::string id = "sku-" + std::to_string(sku);
    producer_->send({kStockCommands,
                     kWarehouse,
                     core::encode_command({"restock-" + id, id, world_.kernel().now(), "", ""},
                                          core::StockCommand{core::Restock{
                                              core::Sku{id}, core::Quantity{quantity}}}),
                     {},
                     std::nullopt},
                    [](core::Result<core::RecordMetadata>) {});
  }

  // Posts to one of the orders instances, chosen by `n`.
  void post(int n, const std::string& target, std::string body, const std::string& key) {
    const std::string server = "orders-" + std::to_string(1 + n % 3);
    core::HttpRequest request{core::HttpMethod::kPost,
                              target,
                              {{"Content-Type", "application/json"}, {"Idempotency-Key", key}},
                              std::move(body)};
    http_->call(server, request, {.timeout = 2s, .max_attempts = 6, .backoff = 500ms},
                [this](core::Result<core::HttpResponse> r) {
                  ++answers_[r ? r->status : 0];
                  if (r && r->status == 202) {
                    placed_.insert(*core::parse(r->body)->find("order_id")->as_string());
                  }
                });
  }

  void run_for(core::Duration d) { world_.kernel().run_until(world_.kernel().now() + d); }

  std::map<std::string, int> events_;  // "<process> <event>" -> count; outlives the world
  sim::World world_;
  Process* client_ = nullptr;
  std::unique_ptr<sim::HttpClient> http_;
  std::unique_ptr<core::Producer> producer_;
  std::unique_ptr<testing_support::TopicReaders> readers_;
  RecordingHandler* orders_ = nullptr;
  RecordingHandler* shipments_ = nullptr;
  RecordingHandler* stock_ = nullptr;
  std::map<int, int> answers_;  // HTTP status -> count (0: gave up)
  std::set<std::string> placed_;
};

TEST_F(ScenarioTest, AThousandOrdersThroughCrashesEndConsistent) {
  for (int sku = 0; sku < kSkus; ++sku) restock(sku, sku == 0 ? 150 : 2000);  // sku-0 runs out
  run_for(3s);
  for (int n = 0; n < kOrders; ++n) {
    const std::string key = "place-" + std::to_string(n);
    post(n, "/orders", order_body(n), key);
    if (n % 5 == 0) {
      const std::string order = OrdersApi::order_id_for(key);
      world_.kernel().after(300ms * (1 + n % 4), [this, n, order] {
        post(n + 1, "/orders/" + order + "/cancel", R"({"reason": "changed my mind"})",
             "cancel-" + order);
      });
    }
    if (n == 200) world_.crash("orders-2");
    if (n == 230) world_.process("orders-2").start();
    if (n == 400) world_.crash("shipping-1");
    if (n == 450) world_.process("shipping-1").start();
    if (n == 500) {  // a zombie: paused past its session, it wakes up fenced
      world_.pause("orders-3");
      world_.kernel().after(8s, [this] { world_.resume("orders-3"); });
    }
    if (n == 600) world_.crash("query-2");
    if (n == 640) world_.process("query-2").start();
    run_for(10ms);  // 100 orders per second
  }
  run_for(60s);

  EXPECT_EQ(answers_[0], 0) << "a client gave up";
  EXPECT_GT(events_["orders-3 consumer_fenced"], 0) << "the paused instance must wake up fenced";
  EXPECT_EQ(placed_.size(), static_cast<std::size_t>(kOrders));
  const auto orders = testing_support::fold_events<core::OrderDecider>(*orders_);
  const auto shipments = testing_support::fold_events<core::ShipmentDecider>(*shipments_);
  ASSERT_EQ(orders.size(), static_cast<std::size_t>(kOrders));
  std::map<std::string, int> by_status;
  for (const auto& [id, order] : orders) {
    ++by_status[std::string(to_string(order.status))];
    EXPECT_TRUE(order.terminal()) << id << " is " << to_string(order.status);
  }
  EXPECT_GT(by_status["delivered"], 0);
  EXPECT_GT(by_status["cancelled"], 0);

  for (const auto& [sku, s] : testing_support::fold_events<core::StockDecider>(*stock_)) {
    EXPECT_TRUE(s.conserved()) << sku;
    EXPECT_EQ(s.reserved, core::Quantity{0}) << sku;
  }

  // What the customer and per-minute read models must hold, from the order log.
  std::map<std::string, std::map<std::string, std::string>> by_customer;
  std::map<core::Timestamp, std::int64_t> per_minute;
  for (const auto& [id, order] : orders) {
    by_customer[order.customer.str()][id] =
        std::string(to_string(order.status)) + "," + std::to_string(order.total().value());
    ++per_minute[std::chrono::floor<std::chrono::minutes>(order.placed_at)];
  }
  for (const char* query : {"query-1", "query-2"}) {
    sim::Disk& disk = world_.process(query).disk();
    std::map<std::string, std::map<std::string, std::string>> customers;
    std::map<core::Timestamp, std::int64_t> minutes;
    for (int p = 0; p < kPartitions; ++p) {
      const std::string suffix = "-" + std::to_string(p);
      for (const auto& [customer, expected] : by_customer) {
        for (const auto& o : read_customer_orders(
                 disk.store(std::string(kCustomerOrdersStore) + suffix), customer)) {
          customers[customer][o.order_id] = o.status + "," + std::to_string(o.total_cents);
        }
      }
      for (const auto& [minute, n] :
           read_orders_per_minute(disk.store(std::string(kOrdersPerMinuteStore) + suffix))) {
        minutes[minute] += n;
      }
    }
    EXPECT_EQ(customers, by_customer) << query;
    EXPECT_EQ(minutes, per_minute) << query;
    for (const auto& [id, order] : orders) {
      const int p = core::partition_for_key(id, kPartitions).value();
      const auto view =
          read_order_view(disk.store(std::string(kOrderViewsStore) + "-" + std::to_string(p)), id);
      ASSERT_TRUE(view.has_value()) << query << " misses " << id;
      EXPECT_EQ(view->order, order) << query << " " << id;
      if (auto s = shipments.find("s-" + id); s != shipments.end()) {
        EXPECT_EQ(view->shipment, s->second) << query << " " << id;
      }
    }
  }
}

}  // namespace
}  // namespace orderflow::services
