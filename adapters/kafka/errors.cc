#include "adapters/kafka/errors.h"

#include <cctype>

namespace orderflow::adapters::kafka {
namespace {

using core::ErrorKind;

bool is_retriable(rd_kafka_resp_err_t err) {
  switch (err) {
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR__TIMED_OUT_QUEUE:
    case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
    case RD_KAFKA_RESP_ERR__QUEUE_FULL:
    case RD_KAFKA_RESP_ERR__RESOLVE:
    case RD_KAFKA_RESP_ERR__WAIT_COORD:
    case RD_KAFKA_RESP_ERR__WAIT_CACHE:
    case RD_KAFKA_RESP_ERR__NODE_UPDATE:
    case RD_KAFKA_RESP_ERR__ISR_INSUFF:
    case RD_KAFKA_RESP_ERR__RETRY:
    case RD_KAFKA_RESP_ERR__PREV_IN_PROGRESS:
    case RD_KAFKA_RESP_ERR__IN_PROGRESS:
    case RD_KAFKA_RESP_ERR__OUTDATED:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
    case RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION:
    case RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_PREFERRED_LEADER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION:
    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS:
    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND:
    case RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS:
    case RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NOT_COORDINATOR:
    case RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS:
    case RD_KAFKA_RESP_ERR_UNSTABLE_OFFSET_COMMIT:
    case RD_KAFKA_RESP_ERR_KAFKA_STORAGE_ERROR:
    case RD_KAFKA_RESP_ERR_FETCH_SESSION_ID_NOT_FOUND:
    case RD_KAFKA_RESP_ERR_INVALID_FETCH_SESSION_EPOCH:
    case RD_KAFKA_RESP_ERR_OFFSET_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE:
    case RD_KAFKA_RESP_ERR_FENCED_LEADER_EPOCH:
    case RD_KAFKA_RESP_ERR_UNKNOWN_LEADER_EPOCH:
    case RD_KAFKA_RESP_ERR_CONCURRENT_TRANSACTIONS:
    case RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER:
    case RD_KAFKA_RESP_ERR_THROTTLING_QUOTA_EXCEEDED: return true;
    default: return false;
  }
}

bool aborts_transaction(rd_kafka_resp_err_t err) {
  return err == RD_KAFKA_RESP_ERR__PURGE_QUEUE || err == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT;
}

// librdkafka's name for `err`, in snake_case and without the leading underscore
// that marks its local errors.
std::string snake_name(rd_kafka_resp_err_t err) {
  std::string out;
  for (const char* c = rd_kafka_err2name(err); c != nullptr && *c != '\0'; ++c) {
    if (out.empty() && *c == '_') continue;
    out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(*c))));
  }
  return out;
}

}  // namespace

bool fences_producer(rd_kafka_resp_err_t err) {
  return err == RD_KAFKA_RESP_ERR__FENCED || err == RD_KAFKA_RESP_ERR_PRODUCER_FENCED ||
         err == RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH;
}

bool fences_member(rd_kafka_resp_err_t err) {
  return err == RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION || err == RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID;
}

std::string error_code(rd_kafka_resp_err_t err) {
  if (fences_producer(err)) return "producer_fenced";
  if (aborts_transaction(err)) return "transaction_aborted";
  switch (err) {
    case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT: return "delivery_timed_out";
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR__TIMED_OUT_QUEUE:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT: return "request_timed_out";
    case RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION: return "not_leader_for_partition";
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART: return "unknown_topic_or_partition";
    case RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER: return "out_of_order_sequence";
    case RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET: return "no_offset";
    default: return snake_name(err);
  }
}

core::Error to_error(rd_kafka_resp_err_t err, std::string message, Origin origin, bool fatal) {
  std::string code = error_code(err);
  if (fences_producer(err) || fences_member(err)) {
    return {ErrorKind::kFenced, std::move(code), std::move(message)};
  }
  if (fatal) return {ErrorKind::kFatal, std::move(code), std::move(message)};
  // librdkafka refuses an operation that does not fit the transaction's state;
  // the simulated producer calls that a call out of order.
  if (origin == Origin::kTransactionalCall &&
      (err == RD_KAFKA_RESP_ERR__STATE || err == RD_KAFKA_RESP_ERR__CONFLICT)) {
    return {ErrorKind::kFatal, "invalid_txn_state", std::move(message)};
  }
  if (aborts_transaction(err) || origin == Origin::kTransactionalDelivery) {
    return {ErrorKind::kAbortable, std::move(code), std::move(message)};
  }
  const ErrorKind kind = is_retriable(err) ? ErrorKind::kRetriable : ErrorKind::kFatal;
  return {kind, std::move(code), std::move(message)};
}

core::Error to_error(const rd_kafka_error_t* error, Origin origin) {
  const rd_kafka_resp_err_t err = rd_kafka_error_code(error);
  std::string message = rd_kafka_error_string(error);
  if (fences_producer(err) || fences_member(err)) return to_error(err, std::move(message), origin);
  if (rd_kafka_error_is_fatal(error)) return to_error(err, std::move(message), origin, true);
  if (rd_kafka_error_txn_requires_abort(error)) {
    return {ErrorKind::kAbortable, error_code(err), std::move(message)};
  }
  if (rd_kafka_error_is_retriable(error)) {
    return {ErrorKind::kRetriable, error_code(err), std::move(message)};
  }
  return to_error(err, std::move(message), origin);
}

}  // namespace orderflow::adapters::kafka
