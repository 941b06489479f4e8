// `TestHooks`: a `SimHooks` for tests — canaries switched on by name, fault points
// that fire on every n-th query, and probe counts. It installs itself on the test's
// thread for its lifetime, so it must outlive whatever it observes (declare it
// before the world).
//
//   testing_support::TestHooks hooks;
//   hooks.enable(core::hooks::Canary::kSkipStoreRestore);
//   hooks.fire_every("streams.commit_fails", 3);
//   hooks.fire_once("streams.abort_before_commit");
//   ... run ...
//   EXPECT_GT(hooks.probes("streams.commit_retried"), 0);
//
// A probe whose name `core::hooks::kProbes` does not list fails the test.
#pragma once

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "core/sim_hooks.h"

namespace orderflow::testing_support {

class TestHooks final : public core::hooks::SimHooks {
 public:
  TestHooks() { core::hooks::install(this); }
  ~TestHooks() override { core::hooks::uninstall(); }
  TestHooks(const TestHooks&) = delete;
  TestHooks& operator=(const TestHooks&) = delete;

  void enable(core::hooks::Canary canary) { canaries_.insert(canary); }
  // The fault point `name` fires on its `every`-th, 2`every`-th ... query.
  void fire_every(const std::string& name, int every) { faults_[name] = {every, 0, 0, -1}; }
  // The fault point `name` fires on its next query only.
  void fire_once(const std::string& name) { faults_[name] = {1, 0, 0, 1}; }

  [[nodiscard]] int probes(const std::string& name) const {
    auto it = probes_.find(name);
    return it == probes_.end() ? 0 : it->second;
  }
  [[nodiscard]] int fired(const std::string& name) const {
    auto it = faults_.find(name);
    return it == faults_.end() ? 0 : it->second.fired;
  }

  [[nodiscard]] bool canary(core::hooks::Canary canary) override {
    return canaries_.contains(canary);
  }
  [[nodiscard]] bool fault_point(std::string_view name) override {
    auto it = faults_.find(std::string(name));
    if (it == faults_.end() || it->second.fired == it->second.limit) return false;
    if (++it->second.queried % it->second.every != 0) return false;
    ++it->second.fired;
    return true;
  }
  void probe(std::string_view name) override {
    const auto& known = core::hooks::kProbes;
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      ADD_FAILURE() << "probe " << name << " is not listed in core::hooks::kProbes";
    }
    ++probes_[std::string(name)];
  }

 private:
  struct Fault {
    int every = 1;
    int queried = 0;
    int fired = 0;
    int limit = -1;  // the most times it fires (no limit: -1)
  };
  std::set<core::hooks::Canary> canaries_;
  std::map<std::string, Fault> faults_;
  std::map<std::string, int> probes_;
};

}  // namespace orderflow::testing_support
