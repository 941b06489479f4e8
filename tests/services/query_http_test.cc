// The query REST API over hand-made projection stores: views, long polls for
// read-your-writes, customer orders, per-minute stats and every error path.
#include <map>
#include <optional>
#include <string>

#include <gtest/gtest.h>

#include "core/codec/codec.h"
#include "core/json/json.h"
#include "core/murmur2.h"
#include "core/ports/memory_state_store.h"
#include "services/aggregate.h"
#include "services/query/http_api.h"
#include "sim/process.h"

namespace orderflow::services {
namespace {

using namespace std::chrono_literals;

constexpr int kPartitions = 3;

class QueryHttpTest : public testing::Test {
 protected:
  QueryHttpTest() : kernel_(3), process_(kernel_, "query", kernel_.random().fork("query")) {
    process_.start();
    api_.emplace(
        [this](const std::string& name, int p) -> const core::StateStore& {
          return stores_[name + "-" + std::to_string(p)];
        },
        kPartitions, watch_, process_.scheduler());
  }

  // Appends an order event to the view store the way the projector does.
  void add_order_event(const std::string& order, int version, const core::OrderEvent& e) {
    const int p = core::partition_for_key(order, kPartitions).value();
    core::StateStore& views = stores_[std::string(kOrderViewsStore) + "-" + std::to_string(p)];
    std::string log = views.get("o/" + order).value_or("");
    append_framed(log,
                  core::encode_event({core::EventId{order + "/" + std::to_string(version)}, order,
                                      core::AggregateVersion{version}, kernel_.now(), "", ""},
                                     e));
    views.put("o/" + order, log);
    watch_.changed(order);
  }

  core::OrderPlaced placed(const std::string& order) {
    return {core::OrderId{order},
            core::CustomerId{"c-1"},
            {{core::Sku{"sku-1"}, core::Quantity{2}, core::Cents{700}}},
            {"Ada", "1 Way", "London", "", "GB"},
            kernel_.now()};
  }

  std::optional<core::HttpResponse> get(const std::string& target,
                                        core::HttpMethod method = core::HttpMethod::kGet) {
    std::optional<core::HttpResponse> response;
    api_->handle({method, target, {}, ""}, [&](core::HttpResponse r) { response = std::move(r); });
    return response;
  }

  sim::Kernel kernel_;
  sim::Process process_;
  std::map<std::string, core::MemoryStateStore> stores_;
  ProjectionWatch watch_;
  std::optional<QueryApi> api_;
};

TEST_F(QueryHttpTest, AnswersAKnownOrder) {
  add_order_event("o-1", 1, placed("o-1"));
  const auto r = get("/orders/o-1");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  auto body = core::parse(r->body);
  ASSERT_TRUE(body.has_value());
  EXPECT_EQ(*body->find("status")->as_string(), "placed");
  EXPECT_EQ(body->find("version")->as_int(), 1);
  EXPECT_EQ(body->find("total_cents")->as_int(), 1400);
}

TEST_F(QueryHttpTest, ALongPollAnswersWhenTheVersionArrives) {
  add_order_event("o-1", 1, placed("o-1"));
  const auto early = get("/orders/o-1?min_version=2&wait_ms=5000");
  EXPECT_FALSE(early.has_value()) << "must wait for version 2";
  std::optional<core::HttpResponse> late;
  api_->handle({core::HttpMethod::kGet, "/orders/o-1?min_version=2&wait_ms=5000", {}, ""},
               [&](core::HttpResponse r) { late = std::move(r); });
  kernel_.run_until(kernel_.now() + 1s);
  ASSERT_FALSE(late.has_value());
  add_order_event("o-1", 2, core::OrderConfirmed{core::ShipmentId{"s-o-1"}, kernel_.now()});
  ASSERT_TRUE(late.has_value());
  EXPECT_EQ(core::parse(late->body)->find("version")->as_int(), 2);
}

TEST_F(QueryHttpTest, ALongPollThatRunsOutReturnsTheViewAsItIs) {
  add_order_event("o-1", 1, placed("o-1"));
  std::optional<core::HttpResponse> r;
  api_->handle({core::HttpMethod::kGet, "/orders/o-1?min_version=4&wait_ms=200", {}, ""},
               [&](core::HttpResponse response) { r = std::move(response); });
  kernel_.run_until(kernel_.now() + 150ms);
  EXPECT_FALSE(r.has_value());
  kernel_.run_until(kernel_.now() + 100ms);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(core::parse(r->body)->find("version")->as_int(), 1);
}

TEST_F(QueryHttpTest, AWaitForAnOrderNotYetKnownEndsIn404) {
  std::optional<core::HttpResponse> r;
  api_->handle({core::HttpMethod::kGet, "/orders/o-9?wait_ms=100", {}, ""},
               [&](core::HttpResponse response) { r = std::move(response); });
  kernel_.run_until(kernel_.now() + 1s);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 404);
}

TEST_F(QueryHttpTest, ListsACustomersOrdersAndTheirTotal) {
  stores_[std::string(kCustomerOrdersStore) + "-0"].put("c-1/o-1", "placed,1400");
  stores_[std::string(kCustomerOrdersStore) + "-2"].put("c-1/o-2", "delivered,600");
  stores_[std::string(kCustomerOrdersStore) + "-2"].put("c-10/o-3", "placed,1");
  const auto r = get("/customers/c-1/orders");
  ASSERT_TRUE(r && r->status == 200);
  auto body = core::parse(r->body);
  EXPECT_EQ(body->find("orders")->as_array()->size(), 2u);
  EXPECT_EQ(body->find("total_cents")->as_int(), 2000);
}

TEST_F(QueryHttpTest, SumsOrdersPerMinuteAcrossTasks) {
  stores_[std::string(kOrdersPerMinuteStore) + "-0"].put("00000001798761600000000", "2");
  stores_[std::string(kOrdersPerMinuteStore) + "-1"].put("00000001798761600000000", "3");
  const auto r = get("/stats/orders-per-minute");
  ASSERT_TRUE(r && r->status == 200);
  const auto body = core::parse(r->body);
  ASSERT_TRUE(body.has_value());
  const auto* minutes = body->find("minutes")->as_array();
  ASSERT_EQ(minutes->size(), 1u);
  EXPECT_EQ((*minutes)[0].find("orders")->as_int(), 5);
}

struct ErrorCase {
  const char* name;
  core::HttpMethod method;
  const char* target;
  int status;
};

class QueryErrorTest : public QueryHttpTest, public testing::WithParamInterface<ErrorCase> {};

void PrintTo(const ErrorCase& c, std::ostream* out) { *out << c.name; }

TEST_P(QueryErrorTest, AnswersAProblem) {
  const auto r = get(GetParam().target, GetParam().method);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, GetParam().status) << r->body;
  EXPECT_EQ(r->headers.front().value, "application/problem+json");
}

INSTANTIATE_TEST_SUITE_P(
    EveryPath, QueryErrorTest,
    testing::Values(
        ErrorCase{"UnknownOrder", core::HttpMethod::kGet, "/orders/o-404", 404},
        ErrorCase{"BadMinVersion", core::HttpMethod::kGet, "/orders/o-1?min_version=x", 400},
        ErrorCase{"NegativeWait", core::HttpMethod::kGet, "/orders/o-1?wait_ms=-5", 400},
        ErrorCase{"Post", core::HttpMethod::kPost, "/orders/o-1", 405},
        ErrorCase{"UnknownPath", core::HttpMethod::kGet, "/nope", 404}),
    [](const testing::TestParamInfo<ErrorCase>& param) { return std::string(param.param.name); });

}  // namespace
}  // namespace orderflow::services
