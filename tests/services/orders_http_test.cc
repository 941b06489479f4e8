// Every path of the orders REST API, without a broker: a table of requests and
// the status and problem detail each must get.
#include <deque>
#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/json/json.h"
#include "services/orders/http_api.h"
#include "services/topics.h"

namespace orderflow::services {
namespace {

// Takes records and reports their delivery when told to, or fails them.
class FakeProducer final : public core::Producer {
 public:
  void send(core::ProducerRecord record, core::DeliveryReport report) override {
    sent.push_back(record);
    if (fail) {
      report(core::make_error(core::ErrorKind::kRetriable, "broker_down", "no broker"));
    } else {
      report(core::RecordMetadata{{record.topic, core::Partition{0}},
                                  core::Offset{static_cast<std::int64_t>(sent.size())}});
    }
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
  bool fail = false;
};

class FixedClock final : public core::Clock {
 public:
  [[nodiscard]] core::Timestamp now() const override {
    return core::from_unix_millis(1'800'000'000'000);
  }
};

class NullLog final : public core::Log {
 public:
  void event(core::Severity, std::string_view, core::Fields) override {}
};

const std::string kValidOrder = R"({"customer_id": "c-1",
  "items": [{"sku": "sku-1", "quantity": 2, "unit_price_cents": 1250}],
  "shipping_address": {"name": "Ada", "street": "1 Way", "city": "London",
                       "postal_code": "N1", "country": "GB"}})";

struct Case {
  const char* name;
  core::HttpMethod method;
  std::string target;
  std::vector<core::HttpHeader> headers;
  std::string body;
  int status;
  const char* detail;  // a fragment the problem's detail must contain
};

void PrintTo(const Case& c, std::ostream* out) { *out << c.name; }

std::vector<core::HttpHeader> json_with_key() {
  return {{"Content-Type", "application/json"}, {"Idempotency-Key", "k-1"}};
}

std::string replace(std::string text, const std::string& from, const std::string& to) {
  text.replace(text.find(from), from.size(), to);
  return text;
}

class OrdersApiTest : public testing::Test {
 protected:
  OrdersApiTest() {
    auto outcome = [this](std::string id,
                          std::expected<core::AggregateVersion, core::Rejection> r) {
      return core::ConsumerRecord{{kOrderOutcomes, core::Partition{0}},
                                  core::Offset{0},
                                  id,
                                  core::encode_outcome({id, core::AggregateType::kOrder, "o-1",
                                                        std::move(r), clock_.now()}),
                                  {},
                                  clock_.now()};
    };
    outcomes_.on_records(
        {outcome("accepted", core::AggregateVersion{3}),
         outcome("conflict", std::unexpected(core::Rejection{core::RejectionCode::kConflict,
                                                             "order is shipped"})),
         outcome("missing", std::unexpected(core::Rejection{core::RejectionCode::kNotFound,
                                                            "order does not exist"}))});
  }

  core::HttpResponse call(const Case& c) {
    std::optional<core::HttpResponse> response;
    api_.handle({c.method, c.target, c.headers, c.body},
                [&](core::HttpResponse r) { response = std::move(r); });
    EXPECT_TRUE(response.has_value()) << "no response";
    return response.value_or(core::HttpResponse{0, {}, {}});
  }

  FixedClock clock_;
  NullLog log_;
  FakeProducer producer_;
  OutcomeTable outcomes_;
  OrdersApi api_{producer_, outcomes_, clock_, log_};
};

class OrdersHttpTest : public OrdersApiTest, public testing::WithParamInterface<Case> {};

std::string case_name(const testing::TestParamInfo<Case>& param) { return param.param.name; }

std::optional<std::string> header(const core::HttpResponse& r, std::string_view name) {
  for (const auto& h : r.headers) {
    if (h.name == name) return h.value;
  }
  return std::nullopt;
}

TEST_P(OrdersHttpTest, AnswersWithTheRightStatusAndProblem) {
  const Case& c = GetParam();
  const core::HttpResponse r = call(c);
  EXPECT_EQ(r.status, c.status) << r.body;
  auto body = core::parse(r.body);
  ASSERT_TRUE(body.has_value()) << r.body;
  if (c.status >= 400) {
    EXPECT_EQ(header(r, "Content-Type"), "application/problem+json");
    const core::Json* detail = body->find("detail");
    ASSERT_NE(detail, nullptr) << r.body;
    EXPECT_NE(detail->as_string()->find(c.detail), std::string::npos) << r.body;
    EXPECT_EQ(body->find("status")->as_int(), c.status);
  } else {
    EXPECT_EQ(header(r, "Content-Type"), "application/json");
  }
}

const core::HttpMethod kPost = core::HttpMethod::kPost;
const core::HttpMethod kGet = core::HttpMethod::kGet;

INSTANTIATE_TEST_SUITE_P(
    EveryPath, OrdersHttpTest,
    testing::Values(
        Case{"Placed", kPost, "/orders", json_with_key(), kValidOrder, 202, ""},
        Case{"NoIdempotencyKey",
             kPost,
             "/orders",
             {{"Content-Type", "application/json"}},
             kValidOrder,
             400,
             "Idempotency-Key"},
        Case{"WrongContentType",
             kPost,
             "/orders",
             {{"Content-Type", "text/plain"}, {"Idempotency-Key", "k"}},
             kValidOrder,
             415,
             "application/json"},
        Case{"BodyTooLarge", kPost, "/orders", json_with_key(), std::string(kMaxBodyBytes + 1, ' '),
             413, "at most"},
        Case{"MalformedJson", kPost, "/orders", json_with_key(), "{\"customer_id\": ", 400,
             "malformed JSON"},
        Case{"UnknownField", kPost, "/orders", json_with_key(),
             replace(kValidOrder, "\"customer_id\"", "\"coupon\": 1, \"customer_id\""), 400,
             "coupon: unknown field"},
        Case{"MissingCustomer", kPost, "/orders", json_with_key(),
             replace(kValidOrder, "\"customer_id\": \"c-1\",", ""), 400, "customer_id"},
        Case{"QuantityNotAnInteger", kPost, "/orders", json_with_key(),
             replace(kValidOrder, "\"quantity\": 2", "\"quantity\": \"two\""), 400,
             "items[0].quantity"},
        Case{"QuantityZero", kPost, "/orders", json_with_key(),
             replace(kValidOrder, "\"quantity\": 2", "\"quantity\": 0"), 400,
             "items[0].quantity: must be positive"},
        Case{"NoItems", kPost, "/orders", json_with_key(),
             replace(kValidOrder, R"([{"sku": "sku-1", "quantity": 2, "unit_price_cents": 1250}])",
                     "[]"),
             400, "items: at least one"},
        Case{"MissingCountry", kPost, "/orders", json_with_key(),
             replace(kValidOrder, ", \"country\": \"GB\"", ""), 400, "shipping_address.country"},
        Case{"GetOnOrders", kGet, "/orders", {}, "", 405, "POST /orders"},
        Case{"UnknownPath", kGet, "/nothing/here", {}, "", 404, "/nothing/here"},
        Case{"CancelAccepted", kPost, "/orders/o-1/cancel", json_with_key(),
             R"({"reason": "too slow"})", 202, ""},
        Case{"CancelWithoutBody", kPost, "/orders/o-1/cancel", {}, "", 202, ""},
        Case{"CancelBadJson", kPost, "/orders/o-1/cancel", json_with_key(), "{]", 400,
             "malformed JSON"},
        Case{"CancelUnknownField", kPost, "/orders/o-1/cancel", json_with_key(), R"({"why": "x"})",
             400, "why: unknown field"},
        Case{"OutcomeAccepted", kGet, "/commands/accepted", {}, "", 200, ""},
        Case{"OutcomeConflict", kGet, "/commands/conflict", {}, "", 409, "order is shipped"},
        Case{"OutcomeRejectedNotFound",
             kGet,
             "/commands/missing",
             {},
             "",
             404,
             "order does not exist"},
        Case{"OutcomeUnknown", kGet, "/commands/nope", {}, "", 404, "no outcome"}),
    case_name);

TEST_F(OrdersApiTest, APlacementIsACommandKeyedByTheOrderItsKeyNames) {
  for (int i = 0; i < 2; ++i) {
    const auto r = call({"", kPost, "/orders", json_with_key(), kValidOrder, 202, ""});
    ASSERT_EQ(r.status, 202);
    EXPECT_EQ(core::parse(r.body)->find("order_id")->as_string()->c_str(),
              OrdersApi::order_id_for("k-1"));
  }
  ASSERT_EQ(producer_.sent.size(), 2u);
  EXPECT_EQ(producer_.sent[0].topic, kOrderCommands);
  EXPECT_EQ(producer_.sent[0].key, OrdersApi::order_id_for("k-1"));
  auto command = core::decode_command(*producer_.sent[1].value);
  ASSERT_TRUE(command.has_value());
  EXPECT_EQ(command->meta.command_id, "k-1") << "a retry carries the same command id";
}

TEST_F(OrdersApiTest, ABrokerThatCannotTakeTheCommandIsA503) {
  producer_.fail = true;
  const auto r = call({"", kPost, "/orders", json_with_key(), kValidOrder, 503, ""});
  EXPECT_EQ(r.status, 503);
  EXPECT_NE(r.body.find("Idempotency-Key"), std::string::npos);
}

}  // namespace
}  // namespace orderflow::services
