#ifndef GATEHOUSE_CLIENT_CIRCUIT_BREAKER_H_
#define GATEHOUSE_CLIENT_CIRCUIT_BREAKER_H_

#include <cstdint>
#include <random>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "service/clock/clock.h"

namespace gatehouse {

// Decides whether a call may go to a service that keeps failing, so that a
// dead or hung service costs callers nothing instead of a full deadline
// each.
//
// Closed: every call goes through. After `failures_before_cooldown`
// consecutive failures it opens for a cool-down, during which Admit() fails
// fast. When the cool-down is over, exactly one call (the probe) is admitted
// while the others keep failing fast; a successful probe closes the breaker,
// a failed one opens it again for twice the previous cool-down, up to
// `cooldown_max`. Each cool-down is shortened by a random fraction of up to
// `jitter`, so that many clients do not probe in step. Any success closes
// the breaker and resets the cool-down to `cooldown_initial`.
//
// Time comes from the injected Clock. If it moves backwards while open, the
// cool-down counts as over (a wall-clock step back must not lock callers out
// for its size).
//
// Knows nothing of gRPC: callers classify their own outcomes. Thread-safe.
class CircuitBreaker {
 public:
  struct Options {
    // REQUIRES: >= 1.
    int failures_before_cooldown = 5;
    // REQUIRES: 0 < cooldown_initial <= cooldown_max.
    absl::Duration cooldown_initial = absl::Milliseconds(500);
    absl::Duration cooldown_max = absl::Seconds(5);
    // REQUIRES: 0 <= jitter < 1.
    double jitter = 0.2;
    // Seeds the jitter; fixed in tests, random in production.
    uint64_t seed = 0;
  };

  // How a call admitted by Admit() ended.
  enum class Outcome {
    kSuccess,  // The service answered: closes the breaker.
    kFailure,  // The service did not answer: counts towards opening it.
    kNeutral,  // Says nothing about the service (e.g. a caller's mistake).
  };

  // Proof of admission, handed back to Report().
  struct Ticket {
    bool probe = false;  // The single call let through after a cool-down.
    uint64_t epoch = 0;  // State transitions since construction.
  };

  struct Stats {
    bool open = false;  // Cooling down, or waiting for the probe's outcome.
    int consecutive_failures = 0;
    uint64_t cooldowns = 0;    // Times it opened (including after probes).
    uint64_t failed_fast = 0;  // Admit() calls refused.
  };

  // `clock` must outlive the breaker. REQUIRES: options as documented.
  CircuitBreaker(Options options, const Clock* clock);
  CircuitBreaker(const CircuitBreaker&) = delete;
  CircuitBreaker& operator=(const CircuitBreaker&) = delete;

  // A Ticket when the call may go ahead; the caller must then Report() its
  // outcome exactly once. Otherwise UNAVAILABLE saying why and when the next
  // probe is due; the caller must not send the call.
  absl::StatusOr<Ticket> Admit();
  void Report(const Ticket& ticket, Outcome outcome);

  Stats GetStats() const;

 private:
  void Open() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Close() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Constant after construction.
  const Options options_;
  const Clock* const clock_;

  mutable absl::Mutex mu_;
  std::mt19937_64 random_ ABSL_GUARDED_BY(mu_);
  bool open_ ABSL_GUARDED_BY(mu_) = false;
  // Bumped on every open/close, so that late reports from calls admitted
  // before it are not counted twice.
  uint64_t epoch_ ABSL_GUARDED_BY(mu_) = 0;
  int consecutive_failures_ ABSL_GUARDED_BY(mu_) = 0;
  // Cool-downs since the breaker last closed; the next lasts
  // cooldown_initial * 2^(cooldowns_in_a_row_ - 1), capped.
  int cooldowns_in_a_row_ ABSL_GUARDED_BY(mu_) = 0;
  // While open_: the cool-down started at opened_at_ and ends at
  // probe_at_; then probe_in_flight_ while the probe is out.
  absl::Time opened_at_ ABSL_GUARDED_BY(mu_);
  absl::Time probe_at_ ABSL_GUARDED_BY(mu_);
  bool probe_in_flight_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t cooldowns_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t failed_fast_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace gatehouse

#endif  // GATEHOUSE_CLIENT_CIRCUIT_BREAKER_H_
