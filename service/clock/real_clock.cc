#include "service/clock/real_clock.h"

#include "absl/time/clock.h"

namespace gatehouse {

absl::Time RealClock::Now() const { return absl::Now(); }

RealClock* RealClock::Get() {
  static RealClock* const clock = new RealClock();
  return clock;
}

}  // namespace gatehouse
