// librdkafka's errors in the port's terms (core/ports/error.h).
//
// Codes are the snake_case Kafka error names ("not_coordinator",
// "unstable_offset_commit"); where librdkafka's local errors mean what a code of the
// simulated broker means, they take that code ("producer_fenced",
// "delivery_timed_out", "request_timed_out", "transaction_aborted"), so that service
// code reacts to one vocabulary in both worlds.
//
// Kinds follow the Kafka client: fencing of the producer (a newer epoch for the
// transactional id) or of a group member (an old generation) is kFenced; an error
// that dooms the open transaction is kAbortable; transient conditions are
// kRetriable; the rest is kFatal.
//
// Threading: pure functions, callable from any thread.
#pragma once

#include <string>

#include <librdkafka/rdkafka.h>

#include "core/ports/error.h"

namespace orderflow::adapters::kafka {

// What failed, which changes the kind of some errors.
enum class Origin {
  kCall,                   // a client call outside a transaction
  kDelivery,               // a record's delivery by a non-transactional producer
  kTransactionalDelivery,  // a record's delivery inside a transaction: dooms it
  kTransactionalCall,      // a transactional API call (init, begin, commit, ...)
};

// The port's code for `err`.
[[nodiscard]] std::string error_code(rd_kafka_resp_err_t err);

// True for the errors that say a newer producer owns the transactional id.
[[nodiscard]] bool fences_producer(rd_kafka_resp_err_t err);
// True for the errors that say the group member is not the current generation.
[[nodiscard]] bool fences_member(rd_kafka_resp_err_t err);

// Classifies a bare error code; `fatal` when librdkafka raised it as the client's
// fatal error.
[[nodiscard]] core::Error to_error(rd_kafka_resp_err_t err, std::string message, Origin origin,
                                   bool fatal = false);

// Classifies an error object from the transactional, admin or seek API, using the
// flags librdkafka sets on it. Takes no ownership.
[[nodiscard]] core::Error to_error(const rd_kafka_error_t* error, Origin origin);

}  // namespace orderflow::adapters::kafka
