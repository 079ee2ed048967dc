#ifndef GATEHOUSE_SERVICE_LOGGING_LOG_RATE_LIMITER_H_
#define GATEHOUSE_SERVICE_LOGGING_LOG_RATE_LIMITER_H_

#include <cstdint>
#include <map>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "service/clock/clock.h"

namespace gatehouse {

// Keeps an attack from flooding the log: at most `max_lines` lines per kind
// of event (e.g. "ceiling_hit", "auth_failure") in each `interval`; the rest
// are counted and the count is reported on the next line allowed.
//
// Thread-safe. The clock must outlive it.
class LogRateLimiter {
 public:
  LogRateLimiter(const Clock* clock, int max_lines, absl::Duration interval)
      : clock_(clock), max_lines_(max_lines), interval_(interval) {}

  // Whether to log this event of `kind`. When true, `*suppressed` is the
  // number of events of that kind dropped since the last logged one.
  bool Allow(const std::string& kind, uint64_t* suppressed);

 private:
  struct Bucket {
    absl::Time start;
    int lines = 0;
    uint64_t suppressed = 0;
  };

  const Clock* const clock_;
  const int max_lines_;
  const absl::Duration interval_;
  absl::Mutex mu_;
  std::map<std::string, Bucket> buckets_ ABSL_GUARDED_BY(mu_);
};

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_LOGGING_LOG_RATE_LIMITER_H_
