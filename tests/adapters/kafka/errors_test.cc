// How librdkafka's errors map onto the port's kinds and codes, and how a member's
// group metadata is read back from librdkafka's serialised form.
#include "adapters/kafka/errors.h"

#include <gtest/gtest.h>

#include "adapters/kafka/client.h"

namespace orderflow::adapters::kafka {
namespace {

using core::ErrorKind;

struct Case {
  rd_kafka_resp_err_t err;
  Origin origin;
  ErrorKind kind;
  std::string code;
};

class ErrorMapping : public testing::TestWithParam<Case> {};

TEST_P(ErrorMapping, KindAndCodeMatchTheSimulatedBroker) {
  const Case& c = GetParam();
  const core::Error error = to_error(c.err, "why", c.origin);
  EXPECT_EQ(error.kind, c.kind) << rd_kafka_err2name(c.err);
  EXPECT_EQ(error.code, c.code);
  EXPECT_EQ(error.message, "why");
}

INSTANTIATE_TEST_SUITE_P(Codes, ErrorMapping,
                         testing::Values(
                             // A newer producer owns the transactional id.
                             Case{RD_KAFKA_RESP_ERR__FENCED, Origin::kTransactionalCall,
                                  ErrorKind::kFenced, "producer_fenced"},
                             Case{RD_KAFKA_RESP_ERR_PRODUCER_FENCED, Origin::kTransactionalCall,
                                  ErrorKind::kFenced, "producer_fenced"},
                             Case{RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH,
                                  Origin::kTransactionalDelivery, ErrorKind::kFenced,
                                  "producer_fenced"},
                             // The group member is not the current generation.
                             Case{RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION, Origin::kTransactionalCall,
                                  ErrorKind::kFenced, "illegal_generation"},
                             Case{RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID, Origin::kCall,
                                  ErrorKind::kFenced, "unknown_member_id"},
                             // Transient.
                             Case{RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, Origin::kDelivery,
                                  ErrorKind::kRetriable, "not_leader_for_partition"},
                             Case{RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, Origin::kCall,
                                  ErrorKind::kRetriable, "request_timed_out"},
                             Case{RD_KAFKA_RESP_ERR__TIMED_OUT, Origin::kCall,
                                  ErrorKind::kRetriable, "request_timed_out"},
                             Case{RD_KAFKA_RESP_ERR__MSG_TIMED_OUT, Origin::kDelivery,
                                  ErrorKind::kRetriable, "delivery_timed_out"},
                             Case{RD_KAFKA_RESP_ERR_UNSTABLE_OFFSET_COMMIT, Origin::kCall,
                                  ErrorKind::kRetriable, "unstable_offset_commit"},
                             Case{RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS, Origin::kCall,
                                  ErrorKind::kRetriable, "rebalance_in_progress"},
                             Case{RD_KAFKA_RESP_ERR_NOT_COORDINATOR, Origin::kCall,
                                  ErrorKind::kRetriable, "not_coordinator"},
                             Case{RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN, Origin::kCall,
                                  ErrorKind::kRetriable, "all_brokers_down"},
                             // Inside a transaction a failed delivery dooms it.
                             Case{RD_KAFKA_RESP_ERR__MSG_TIMED_OUT, Origin::kTransactionalDelivery,
                                  ErrorKind::kAbortable, "delivery_timed_out"},
                             Case{RD_KAFKA_RESP_ERR__PURGE_QUEUE, Origin::kTransactionalDelivery,
                                  ErrorKind::kAbortable, "transaction_aborted"},
                             // Calls out of order, and what no retry mends.
                             Case{RD_KAFKA_RESP_ERR__STATE, Origin::kTransactionalCall,
                                  ErrorKind::kFatal, "invalid_txn_state"},
                             Case{RD_KAFKA_RESP_ERR__CONFLICT, Origin::kTransactionalCall,
                                  ErrorKind::kFatal, "invalid_txn_state"},
                             Case{RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART, Origin::kCall,
                                  ErrorKind::kFatal, "unknown_topic_or_partition"},
                             Case{RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION, Origin::kCall,
                                  ErrorKind::kFatal, "unknown_topic_or_partition"},
                             Case{RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED, Origin::kCall,
                                  ErrorKind::kFatal, "topic_authorization_failed"}));

TEST(ErrorMapping, AFatalErrorIsFatalUnlessItFences) {
  EXPECT_EQ(to_error(RD_KAFKA_RESP_ERR_NOT_COORDINATOR, "", Origin::kCall, true).kind,
            ErrorKind::kFatal);
  EXPECT_EQ(to_error(RD_KAFKA_RESP_ERR__FENCED, "", Origin::kCall, true).kind, ErrorKind::kFenced);
}

TEST(ErrorMapping, AnErrorObjectWithoutFlagsIsClassifiedByItsCode) {
  rd_kafka_error_t* state = rd_kafka_error_new(RD_KAFKA_RESP_ERR__STATE, "not now");
  const core::Error error = to_error(state, Origin::kTransactionalCall);
  rd_kafka_error_destroy(state);
  EXPECT_EQ(error.kind, ErrorKind::kFatal);
  EXPECT_EQ(error.code, "invalid_txn_state");
  EXPECT_EQ(error.message, "not now");

  rd_kafka_error_t* fenced = rd_kafka_error_new(RD_KAFKA_RESP_ERR_PRODUCER_FENCED, "newer one");
  EXPECT_EQ(to_error(fenced, Origin::kTransactionalCall).kind, ErrorKind::kFenced);
  rd_kafka_error_destroy(fenced);
}

// Pins the serialised form `client.h` reads for the librdkafka this build links.
TEST(GroupMetadata, FieldsSurviveLibrdkafkasSerialisedForm) {
  rd_kafka_consumer_group_metadata_t* member =
      rd_kafka_consumer_group_metadata_new_with_genid("orders", 42, "member-7", "orders-1");
  const auto read = group_metadata_of(member);
  rd_kafka_consumer_group_metadata_destroy(member);
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(*read, (core::GroupMetadata{"orders", core::Generation{42}, "member-7", "orders-1"}));

  rd_kafka_consumer_group_metadata_t* dynamic =
      rd_kafka_consumer_group_metadata_new_with_genid("shipping", 3, "m", nullptr);
  const auto without = group_metadata_of(dynamic);
  rd_kafka_consumer_group_metadata_destroy(dynamic);
  ASSERT_TRUE(without.has_value());
  EXPECT_EQ(*without, (core::GroupMetadata{"shipping", core::Generation{3}, "m", std::nullopt}));
}

TEST(GroupMetadata, AnUnknownFormIsNotGuessedAt) {
  EXPECT_FALSE(read_group_metadata("CGMDv9:xxxx"));
  EXPECT_FALSE(read_group_metadata(std::string_view("CGMDv2:\x01\x00\x00\x00g", 12)));
}

}  // namespace
}  // namespace orderflow::adapters::kafka
