#include "cli/relay.h"

#include <chrono>
#include <memory>

#include <librdkafka/rdkafka.h>

namespace orderflow::cli {
namespace {

using Steady = std::chrono::steady_clock;

struct Handle {
  rd_kafka_t* rk = nullptr;
  ~Handle() {
    if (rk != nullptr) rd_kafka_destroy(rk);
  }
};

// Counts delivery reports through the producer's opaque.
struct Deliveries {
  int ok = 0;
  int failed = 0;
};

void on_delivery(rd_kafka_t*, const rd_kafka_message_t* message, void* opaque) {
  auto* d = static_cast<Deliveries*>(opaque);
  (message->err == RD_KAFKA_RESP_ERR_NO_ERROR ? d->ok : d->failed)++;
}

rd_kafka_t* make(rd_kafka_type_t type, const std::string& bootstrap, const char* group,
                 Deliveries* deliveries, std::string& error) {
  char message[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  const auto set = [&](const char* key, const char* value) {
    return rd_kafka_conf_set(conf, key, value, message, sizeof message) == RD_KAFKA_CONF_OK;
  };
  bool ok = set("bootstrap.servers", bootstrap.c_str()) && set("log_level", "3");
  if (type == RD_KAFKA_PRODUCER) {
    ok = ok && set("enable.idempotence", "true") && set("linger.ms", "5");
    rd_kafka_conf_set_opaque(conf, deliveries);
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
  } else {
    ok = ok && set("group.id", group) && set("auto.offset.reset", "earliest") &&
         set("enable.auto.commit", "true");
  }
  if (!ok) {
    error = message;
    rd_kafka_conf_destroy(conf);
    return nullptr;
  }
  rd_kafka_t* rk = rd_kafka_new(type, conf, message, sizeof message);
  if (rk == nullptr) error = message;
  return rk;
}

bool produce(rd_kafka_t* rk, const std::string& topic, const void* value, std::size_t size) {
  for (;;) {
    const rd_kafka_resp_err_t err = rd_kafka_producev(
        rk, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_VALUE(const_cast<void*>(value), size),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return true;
    if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) return false;
    rd_kafka_poll(rk, 10);  // the local queue is full: serve delivery reports
  }
}

}  // namespace

RelayResult run_relay(const std::string& bootstrap, const std::string& in, const std::string& out,
                      int records, int bytes) {
  RelayResult result;
  Deliveries seeded;
  Deliveries relayed;
  Handle writer;
  Handle producer;
  Handle consumer;
  writer.rk = make(RD_KAFKA_PRODUCER, bootstrap, nullptr, &seeded, result.error);
  producer.rk = make(RD_KAFKA_PRODUCER, bootstrap, nullptr, &relayed, result.error);
  consumer.rk = make(RD_KAFKA_CONSUMER, bootstrap, "orderflow-relay", nullptr, result.error);
  if (writer.rk == nullptr || producer.rk == nullptr || consumer.rk == nullptr) return result;

  const std::string payload(static_cast<std::size_t>(bytes), 'r');
  for (int i = 0; i < records; ++i) {
    if (!produce(writer.rk, in, payload.data(), payload.size())) {
      result.error = "producing the input failed";
      return result;
    }
  }
  rd_kafka_flush(writer.rk, 60'000);
  if (seeded.ok != records) {
    result.error = "only " + std::to_string(seeded.ok) + " input records were acknowledged";
    return result;
  }

  rd_kafka_poll_set_consumer(consumer.rk);
  rd_kafka_topic_partition_list_t* topics = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(topics, in.c_str(), RD_KAFKA_PARTITION_UA);
  rd_kafka_subscribe(consumer.rk, topics);
  rd_kafka_topic_partition_list_destroy(topics);

  int consumed = 0;
  Steady::time_point first{};
  const auto give_up = Steady::now() + std::chrono::seconds{120};
  while (consumed < records && Steady::now() < give_up) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(consumer.rk, 100);
    if (m == nullptr) continue;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (consumed++ == 0) first = Steady::now();
      produce(producer.rk, out, m->payload, m->len);
      rd_kafka_poll(producer.rk, 0);
    }
    rd_kafka_message_destroy(m);
  }
  rd_kafka_flush(producer.rk, 60'000);
  const auto last = Steady::now();
  rd_kafka_consumer_close(consumer.rk);
  result.records = relayed.ok;
  result.seconds = std::chrono::duration<double>(last - first).count();
  result.ok = consumed == records && relayed.ok == records;
  if (!result.ok) {
    result.error = "relayed " + std::to_string(relayed.ok) + " of " + std::to_string(records);
  }
  return result;
}

}  // namespace orderflow::cli
