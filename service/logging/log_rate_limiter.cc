#include "service/logging/log_rate_limiter.h"

namespace gatehouse {

bool LogRateLimiter::Allow(const std::string& kind, uint64_t* suppressed) {
  const absl::Time now = clock_->Now();
  absl::MutexLock lock(&mu_);
  Bucket& b = buckets_[kind];
  // A clock stepping back also starts a new interval.
  if (now - b.start >= interval_ || now < b.start) {
    b.start = now;
    b.lines = 0;
  }
  if (b.lines >= max_lines_) {
    ++b.suppressed;
    return false;
  }
  ++b.lines;
  *suppressed = b.suppressed;
  b.suppressed = 0;
  return true;
}

}  // namespace gatehouse
