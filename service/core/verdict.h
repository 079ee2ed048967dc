#ifndef GATEHOUSE_SERVICE_CORE_VERDICT_H_
#define GATEHOUSE_SERVICE_CORE_VERDICT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace gatehouse {

enum class Decision { kAllow, kDeny };

// The answer for one subject. Durations are never negative.
struct Verdict {
  std::string policy;
  Decision decision = Decision::kAllow;
  // Hits in the current window after the operation.
  uint64_t count = 0;
  uint64_t limit = 0;
  uint64_t remaining = 0;
  // Zero when allowed; during a lockout, the rest of the lockout.
  absl::Duration retry_after = absl::ZeroDuration();
  // Until the window is empty and any lockout over.
  absl::Duration reset_after = absl::ZeroDuration();
  absl::Duration window = absl::ZeroDuration();
  // This operation made the count reach the limit.
  bool ceiling_hit = false;
  // Shadow-mode policy: decision is kAllow, shadow_decision is what enforce
  // mode would have said.
  bool shadow = false;
  Decision shadow_decision = Decision::kAllow;
  std::optional<absl::Time> locked_until;
  // Sequence of this decision's audit event; 0 when none was written
  // (allowed Peeks).
  uint64_t audit_sequence = 0;
};

struct Response {
  // Every verdict is kAllow.
  bool allowed = true;
  // One per subject, in request order.
  std::vector<Verdict> verdicts;
  // Peek only: why its audit events (denials) could not be written, e.g. the
  // disk is full. A Peek counts nothing, so it still answers from what the
  // store holds; its verdicts then carry no audit_sequence. OK otherwise
  // (every other operation fails instead when it cannot write).
  absl::Status audit_status;
};

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_CORE_VERDICT_H_
