#include "client/circuit_breaker.h"

#include <atomic>
#include <set>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/clock/simulated_clock.h"

namespace gatehouse {
namespace {

using ::testing::HasSubstr;
using Outcome = CircuitBreaker::Outcome;

constexpr int kThreshold = 3;
constexpr absl::Duration kInitial = absl::Seconds(1);
constexpr absl::Duration kMax = absl::Seconds(10);

CircuitBreaker::Options NoJitter() {
  CircuitBreaker::Options options;
  options.failures_before_cooldown = kThreshold;
  options.cooldown_initial = kInitial;
  options.cooldown_max = kMax;
  options.jitter = 0;
  return options;
}

class CircuitBreakerTest : public ::testing::Test {
 protected:
  // Admits one call and reports `outcome` for it; the call must be admitted.
  void Call(Outcome outcome) {
    absl::StatusOr<CircuitBreaker::Ticket> ticket = breaker_.Admit();
    ASSERT_TRUE(ticket.ok()) << ticket.status();
    breaker_.Report(*ticket, outcome);
  }
  void Trip() {
    for (int i = 0; i < kThreshold; ++i) Call(Outcome::kFailure);
    ASSERT_TRUE(breaker_.GetStats().open);
  }
  // The cool-down left, found by stepping the clock until a probe is
  // admitted; the probe's ticket goes to *probe when given.
  absl::Duration CooldownLeft(CircuitBreaker::Ticket* probe = nullptr) {
    const absl::Time start = clock_.Now();
    for (int i = 0; i < 100000; ++i) {
      absl::StatusOr<CircuitBreaker::Ticket> ticket = breaker_.Admit();
      if (ticket.ok()) {
        if (probe != nullptr) *probe = *ticket;
        return clock_.Now() - start;
      }
      clock_.Advance(absl::Milliseconds(1));
    }
    return absl::InfiniteDuration();
  }
  // Fails the probe that CooldownLeft() let out.
  void FailProbe(absl::Duration cooldown) {
    clock_.Advance(cooldown);
    absl::StatusOr<CircuitBreaker::Ticket> probe = breaker_.Admit();
    ASSERT_TRUE(probe.ok());
    ASSERT_TRUE(probe->probe);
    breaker_.Report(*probe, Outcome::kFailure);
  }

  SimulatedClock clock_;
  CircuitBreaker breaker_{NoJitter(), &clock_};
};

TEST_F(CircuitBreakerTest, StaysClosedBelowTheThreshold) {
  for (int i = 0; i < kThreshold - 1; ++i) Call(Outcome::kFailure);

  absl::StatusOr<CircuitBreaker::Ticket> ticket = breaker_.Admit();
  ASSERT_TRUE(ticket.ok());
  EXPECT_FALSE(ticket->probe);
  EXPECT_FALSE(breaker_.GetStats().open);
  EXPECT_EQ(breaker_.GetStats().consecutive_failures, kThreshold - 1);
}

TEST_F(CircuitBreakerTest, FailsFastAfterThresholdConsecutiveFailures) {
  Trip();

  for (int i = 0; i < 10; ++i) {
    const absl::Status refused = breaker_.Admit().status();
    EXPECT_EQ(refused.code(), absl::StatusCode::kUnavailable);
    EXPECT_THAT(std::string(refused.message()),
                HasSubstr("cooling down after 3 consecutive failures"));
    EXPECT_THAT(std::string(refused.message()), HasSubstr("next probe in 1s"));
  }
  const CircuitBreaker::Stats stats = breaker_.GetStats();
  EXPECT_TRUE(stats.open);
  EXPECT_EQ(stats.cooldowns, 1u);
  EXPECT_EQ(stats.failed_fast, 10u);
}

TEST_F(CircuitBreakerTest, SuccessResetsTheConsecutiveCount) {
  for (int i = 0; i < kThreshold - 1; ++i) Call(Outcome::kFailure);
  Call(Outcome::kSuccess);
  for (int i = 0; i < kThreshold - 1; ++i) Call(Outcome::kFailure);

  EXPECT_FALSE(breaker_.GetStats().open);
  EXPECT_EQ(breaker_.GetStats().consecutive_failures, kThreshold - 1);
}

TEST_F(CircuitBreakerTest, CallerErrorsNeitherTripNorReset) {
  for (int i = 0; i < 20; ++i) Call(Outcome::kNeutral);
  EXPECT_FALSE(breaker_.GetStats().open);

  for (int i = 0; i < kThreshold - 1; ++i) Call(Outcome::kFailure);
  for (int i = 0; i < 20; ++i) Call(Outcome::kNeutral);
  EXPECT_FALSE(breaker_.GetStats().open);
  Call(Outcome::kFailure);

  EXPECT_TRUE(breaker_.GetStats().open);
}

TEST_F(CircuitBreakerTest, AdmitsASingleProbeOnceTheCooldownIsOver) {
  Trip();

  clock_.Advance(kInitial - absl::Milliseconds(1));
  EXPECT_FALSE(breaker_.Admit().ok());
  clock_.Advance(absl::Milliseconds(1));
  absl::StatusOr<CircuitBreaker::Ticket> probe = breaker_.Admit();
  ASSERT_TRUE(probe.ok());
  EXPECT_TRUE(probe->probe);

  // While the probe is out, everyone else still fails fast.
  for (int i = 0; i < 5; ++i) {
    clock_.Advance(absl::Seconds(1));
    const absl::Status refused = breaker_.Admit().status();
    EXPECT_EQ(refused.code(), absl::StatusCode::kUnavailable);
    EXPECT_THAT(std::string(refused.message()), HasSubstr("probe"));
  }
}

TEST_F(CircuitBreakerTest, SuccessfulProbeCloses) {
  Trip();
  clock_.Advance(kInitial);
  absl::StatusOr<CircuitBreaker::Ticket> probe = breaker_.Admit();
  ASSERT_TRUE(probe.ok());

  breaker_.Report(*probe, Outcome::kSuccess);

  const CircuitBreaker::Stats stats = breaker_.GetStats();
  EXPECT_FALSE(stats.open);
  EXPECT_EQ(stats.consecutive_failures, 0);
  for (int i = 0; i < 5; ++i) {
    absl::StatusOr<CircuitBreaker::Ticket> ticket = breaker_.Admit();
    ASSERT_TRUE(ticket.ok());
    EXPECT_FALSE(ticket->probe);
  }
}

TEST_F(CircuitBreakerTest, FailedProbesDoubleTheCooldownUpToTheMax) {
  Trip();

  std::vector<absl::Duration> cooldowns;
  for (int i = 0; i < 7; ++i) {
    CircuitBreaker::Ticket probe;
    cooldowns.push_back(CooldownLeft(&probe));
    ASSERT_TRUE(probe.probe);
    breaker_.Report(probe, Outcome::kFailure);
  }

  EXPECT_THAT(cooldowns,
              ::testing::ElementsAre(absl::Seconds(1), absl::Seconds(2),
                                     absl::Seconds(4), absl::Seconds(8),
                                     absl::Seconds(10), absl::Seconds(10),
                                     absl::Seconds(10)));
  EXPECT_EQ(breaker_.GetStats().consecutive_failures, kThreshold + 7);
}

TEST_F(CircuitBreakerTest, SuccessAfterALongOutageStartsAgainFromInitial) {
  Trip();
  FailProbe(absl::Seconds(1));
  FailProbe(absl::Seconds(2));
  clock_.Advance(absl::Seconds(4));
  absl::StatusOr<CircuitBreaker::Ticket> probe = breaker_.Admit();
  ASSERT_TRUE(probe.ok());
  breaker_.Report(*probe, Outcome::kSuccess);

  Trip();

  EXPECT_EQ(CooldownLeft(), kInitial);
}

TEST_F(CircuitBreakerTest, LateFailuresOfCallsAdmittedBeforeOpeningCountOnce) {
  // kThreshold + 2 calls in flight at once, all failing.
  std::vector<CircuitBreaker::Ticket> tickets;
  for (int i = 0; i < kThreshold + 2; ++i) {
    absl::StatusOr<CircuitBreaker::Ticket> ticket = breaker_.Admit();
    ASSERT_TRUE(ticket.ok());
    tickets.push_back(*ticket);
  }
  for (const CircuitBreaker::Ticket& ticket : tickets) {
    breaker_.Report(ticket, Outcome::kFailure);
  }

  EXPECT_EQ(breaker_.GetStats().cooldowns, 1u);
  EXPECT_EQ(breaker_.GetStats().consecutive_failures, kThreshold);
  EXPECT_EQ(CooldownLeft(), kInitial);
}

TEST_F(CircuitBreakerTest, ProbeThatProvesNothingLetsTheNextCallProbe) {
  Trip();
  clock_.Advance(kInitial);
  absl::StatusOr<CircuitBreaker::Ticket> probe = breaker_.Admit();
  ASSERT_TRUE(probe.ok());

  breaker_.Report(*probe, Outcome::kNeutral);

  absl::StatusOr<CircuitBreaker::Ticket> next = breaker_.Admit();
  ASSERT_TRUE(next.ok());
  EXPECT_TRUE(next->probe);
  EXPECT_TRUE(breaker_.GetStats().open);
}

TEST_F(CircuitBreakerTest, ClockSteppingBackEndsTheCooldown) {
  Trip();
  FailProbe(absl::Seconds(1));  // Now cooling down for 2 s.

  clock_.Advance(-absl::Hours(1));

  absl::StatusOr<CircuitBreaker::Ticket> probe = breaker_.Admit();
  ASSERT_TRUE(probe.ok());
  EXPECT_TRUE(probe->probe);
}

TEST_F(CircuitBreakerTest, ConcurrentCallersLetExactlyOneProbeThrough) {
  Trip();
  clock_.Advance(kInitial);
  constexpr int kThreads = 8;
  constexpr int kCallsPerThread = 200;
  std::atomic<int> probes{0};
  std::atomic<int> admitted{0};

  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kCallsPerThread; ++i) {
        absl::StatusOr<CircuitBreaker::Ticket> ticket = breaker_.Admit();
        if (!ticket.ok()) continue;
        ++admitted;
        if (ticket->probe) ++probes;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();

  EXPECT_EQ(probes.load(), 1);
  EXPECT_EQ(admitted.load(), 1);
  EXPECT_EQ(breaker_.GetStats().failed_fast,
            uint64_t{kThreads * kCallsPerThread - 1});
}

TEST(CircuitBreakerJitterTest, ShortensCooldownsByUpToTheJitterFraction) {
  SimulatedClock clock;
  CircuitBreaker::Options options = NoJitter();
  options.jitter = 0.5;
  options.seed = 42;
  CircuitBreaker breaker(options, &clock);
  for (int i = 0; i < kThreshold; ++i) {
    breaker.Report(*breaker.Admit(), Outcome::kFailure);
  }

  std::set<absl::Duration> cooldowns;
  for (int i = 0; i < 30; ++i) {
    const absl::Time start = clock.Now();
    absl::StatusOr<CircuitBreaker::Ticket> probe = breaker.Admit();
    while (!probe.ok() && clock.Now() - start < absl::Minutes(1)) {
      clock.Advance(absl::Milliseconds(10));
      probe = breaker.Admit();
    }
    ASSERT_TRUE(probe.ok());
    // Past the fourth, every nominal cool-down is the 10 s cap.
    if (i >= 4) cooldowns.insert(clock.Now() - start);
    breaker.Report(*probe, Outcome::kFailure);
  }

  ASSERT_FALSE(cooldowns.empty());
  EXPECT_GE(*cooldowns.begin(), kMax * 0.5);
  EXPECT_LE(*cooldowns.rbegin(), kMax + absl::Milliseconds(10));
  EXPECT_GT(cooldowns.size(), 5u) << "jitter should spread the cool-downs";
}

}  // namespace
}  // namespace gatehouse
