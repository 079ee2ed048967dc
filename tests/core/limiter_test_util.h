#ifndef GATEHOUSE_TESTS_CORE_LIMITER_TEST_UTIL_H_
#define GATEHOUSE_TESTS_CORE_LIMITER_TEST_UTIL_H_

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "service/clock/simulated_clock.h"
#include "service/core/counter_store.h"
#include "service/core/in_memory_counter_store.h"
#include "service/core/limiter.h"
#include "service/core/policy.h"
#include "service/core/request.h"
#include "service/core/verdict.h"

// Shared by the Limiter tests: a store that can be snapshotted whole, a
// fixture owning clock, store and limiter, and request builders.
namespace gatehouse {
namespace core_test {

// Midnight UTC, so windows of a second, minute, hour or day start exactly
// here and boundary tests can name bucket edges.
inline absl::Time AlignedStart() {
  return absl::FromUnixSeconds(1'700'006'400);
}

// Forwards to an InMemoryCounterStore and remembers every key ever written
// and how many commits changed counters, so a test can compare the whole store
// before and after an operation. Thread-safe.
class TrackingCounterStore final : public CounterStore {
 public:
  absl::StatusOr<std::optional<CounterState>> Read(
      absl::string_view key) override {
    return inner_.Read(key);
  }

  // Counts only commits that change counters: denied Checks and Peeks
  // commit audit events alone.
  absl::Status Commit(WriteSet& writes) override {
    {
      absl::MutexLock lock(&mu_);
      if (!writes.puts.empty() || !writes.deletes.empty()) ++commits_;
      for (const auto& put : writes.puts) keys_.insert(put.first);
      for (const std::string& key : writes.deletes) keys_.insert(key);
    }
    return inner_.Commit(writes);
  }

  // The audit log written so far.
  const InMemoryCounterStore& inner() const { return inner_; }

  // Every stored state, by key.
  std::map<std::string, CounterState> Snapshot() {
    std::set<std::string> keys;
    {
      absl::MutexLock lock(&mu_);
      keys = keys_;
    }
    std::map<std::string, CounterState> out;
    for (const std::string& key : keys) {
      absl::StatusOr<std::optional<CounterState>> state = inner_.Read(key);
      EXPECT_TRUE(state.ok()) << state.status();
      if (state.ok() && state->has_value()) out.emplace(key, **state);
    }
    return out;
  }

  int commits() const {
    absl::MutexLock lock(&mu_);
    return commits_;
  }
  size_t size() const { return inner_.size(); }

 private:
  InMemoryCounterStore inner_;
  mutable absl::Mutex mu_;
  std::set<std::string> keys_ ABSL_GUARDED_BY(mu_);
  int commits_ ABSL_GUARDED_BY(mu_) = 0;
};

inline Policy MakePolicy(std::string name, std::vector<std::string> dimensions,
                         uint64_t limit, absl::Duration window,
                         int buckets = 60) {
  Policy p;
  p.name = std::move(name);
  p.dimensions = std::move(dimensions);
  p.limit = limit;
  p.window = window;
  p.buckets = buckets;
  return p;
}

inline SubjectRequest Subject(std::string policy,
                              std::map<std::string, std::string> key,
                              uint64_t hits = 1) {
  SubjectRequest s;
  s.policy = std::move(policy);
  s.key = std::move(key);
  s.hits = hits;
  return s;
}

inline Request MakeRequest(std::vector<SubjectRequest> subjects) {
  Request r;
  r.subjects = std::move(subjects);
  return r;
}

inline std::string ToString(Decision d) {
  return d == Decision::kAllow ? "ALLOW" : "DENY";
}

// Owns a simulated clock at AlignedStart(), a TrackingCounterStore and a
// Limiter over the policies given to Install().
class LimiterFixture : public ::testing::Test {
 protected:
  // Creates the limiter on first use, then reloads its policies.
  void Install(std::vector<Policy> policies) {
    auto set = std::make_shared<const PolicySet>(std::move(policies));
    if (limiter_ == nullptr) {
      limiter_ = std::make_unique<Limiter>(&clock_, &store_, std::move(set));
    } else {
      limiter_->SetPolicies(std::move(set));
    }
  }

  // Runs `op`; on an error records a failure and returns default verdicts,
  // one per subject, so later assertions fail instead of crashing.
  Response Run(Operation op, const Request& request) {
    absl::StatusOr<Response> response = limiter_->Run(op, request);
    EXPECT_TRUE(response.ok())
        << OperationName(op) << ": " << response.status();
    if (!response.ok()) {
      Response empty;
      empty.allowed = false;
      empty.verdicts.resize(request.subjects.size());
      return empty;
    }
    EXPECT_EQ(response->verdicts.size(), request.subjects.size());
    return *std::move(response);
  }

  Verdict RunOne(Operation op, const SubjectRequest& subject) {
    Response r = Run(op, MakeRequest({subject}));
    return r.verdicts.empty() ? Verdict{} : r.verdicts.front();
  }

  Verdict Check(const SubjectRequest& s) {
    return RunOne(Operation::kCheck, s);
  }
  Verdict Peek(const SubjectRequest& s) { return RunOne(Operation::kPeek, s); }
  Verdict Record(const SubjectRequest& s) {
    return RunOne(Operation::kRecord, s);
  }
  Verdict Reset(const SubjectRequest& s) {
    return RunOne(Operation::kReset, s);
  }

  SimulatedClock clock_{AlignedStart()};
  TrackingCounterStore store_;
  std::unique_ptr<Limiter> limiter_;
};

}  // namespace core_test
}  // namespace gatehouse

#endif  // GATEHOUSE_TESTS_CORE_LIMITER_TEST_UTIL_H_
