// `RecordingHandler`: a ConsumerHandler that keeps everything it is told, for
// tests that read topics back.
#pragma once

#include <set>
#include <vector>

#include "core/ports/broker.h"

namespace orderflow::testing_support {

class RecordingHandler : public core::ConsumerHandler {
 public:
  void on_assigned(const std::vector<core::TopicPartition>& partitions) override {
    owned.insert(partitions.begin(), partitions.end());
    ++assignments;
  }
  void on_revoked(const std::vector<core::TopicPartition>& partitions) override {
    for (const auto& tp : partitions) owned.erase(tp);
  }
  void on_lost(const std::vector<core::TopicPartition>& partitions) override {
    for (const auto& tp : partitions) owned.erase(tp);
    ++losses;
  }
  void on_records(const std::vector<core::ConsumerRecord>& batch) override {
    records.insert(records.end(), batch.begin(), batch.end());
  }
  void on_error(const core::Error& error) override { errors.push_back(error); }

  std::set<core::TopicPartition> owned;
  std::vector<core::ConsumerRecord> records;
  std::vector<core::Error> errors;
  int assignments = 0;
  int losses = 0;
};

}  // namespace orderflow::testing_support
