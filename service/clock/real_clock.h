#ifndef GATEHOUSE_SERVICE_CLOCK_REAL_CLOCK_H_
#define GATEHOUSE_SERVICE_CLOCK_REAL_CLOCK_H_

#include "service/clock/clock.h"

namespace gatehouse {

// The system's wall clock. Thread-safe; stateless.
class RealClock final : public Clock {
 public:
  absl::Time Now() const override;

  // A process-wide instance that is never destroyed.
  static RealClock* Get();
};

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_CLOCK_REAL_CLOCK_H_
