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
#include "tests/testing/fault_injecting_counter_store.h"

// Shared by the Limiter tests: a fixture owning clock, store and limiter,
// and request builders.
namespace gatehouse {
namespace core_test {

// Midnight UTC, so windows of a second, minute, hour or day start exactly
// here and boundary tests can name bucket edges.
inline absl::Time AlignedStart() {
  return absl::FromUnixSeconds(1'700'006'400);
}

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

// Owns a simulated clock at AlignedStart(), an in-memory store (memory_)
// seen through a FaultInjectingCounterStore (store_, which counts commits
// and snapshots every key written) and a Limiter over store_ with the
// policies given to Install().
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
  InMemoryCounterStore memory_;
  testing::FaultInjectingCounterStore store_{&memory_};
  std::unique_ptr<Limiter> limiter_;
};

}  // namespace core_test
}  // namespace gatehouse

#endif  // GATEHOUSE_TESTS_CORE_LIMITER_TEST_UTIL_H_
