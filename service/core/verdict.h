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

// Why a decision did not come from the counter alone.
enum class VerdictReason {
  kNone,
  // The address is in an exempt network: allowed, nothing counted.
  kExempt,
  // The address is in a deny network: denied whatever the count.
  kDenylisted,
};

// How a permanent lockout's end is shown in verdicts and audit events: the
// last second a protobuf Timestamp can hold, 9999-12-31T23:59:59Z.
inline constexpr int64_t kPermanentLockoutShownUntilMs = 253'402'300'799'000;

// A stored lockout end (CounterState::lockout_until_ms, where INT64_MAX,
// kLockedUntilUnblockedMs, means permanent) as verdicts, audit events and
// the Admin service show it.
inline int64_t ShownLockoutEndMs(int64_t until_ms) {
  return until_ms == INT64_MAX ? kPermanentLockoutShownUntilMs : until_ms;
}

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
  // For a permanent lockout, kPermanentLockoutShownUntilMs.
  std::optional<absl::Time> locked_until;
  // The lockout lasts until an operator lifts it (lockout.permanent_after).
  bool permanent = false;
  // kExempt / kDenylisted: the matching network ("10.0.0.0/8") and, for a
  // deny entry, its reason from the policy file.
  VerdictReason reason = VerdictReason::kNone;
  std::string network;
  std::string deny_reason;
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
