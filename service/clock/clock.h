#ifndef GATEHOUSE_SERVICE_CLOCK_CLOCK_H_
#define GATEHOUSE_SERVICE_CLOCK_CLOCK_H_

#include "absl/time/time.h"

namespace gatehouse {

// Source of wall-clock time. Injected everywhere time matters so tests can
// drive it; Debian's Abseil (20220623) has no absl::Clock.
//
// Implementations are thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;
};

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_CLOCK_CLOCK_H_
