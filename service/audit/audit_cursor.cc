#include "service/audit/audit_cursor.h"

#include "absl/strings/str_cat.h"
#include "service/core/status_macros.h"

namespace gatehouse {

bool AuditFilter::Matches(const AuditEvent& event) const {
  if (ceiling_only && !event.ceiling_hit) return false;
  if (!policies.empty() && policies.count(event.policy) == 0) return false;
  if (!decisions.empty() && decisions.count(event.decision) == 0) return false;
  return true;
}

absl::StatusOr<AuditCursor> AuditCursor::Open(const AuditLog* log,
                                              const AuditStart& start,
                                              AuditFilter filter, bool follow) {
  uint64_t next = 0;
  switch (start.kind) {
    case AuditStart::Kind::kOldest:
      next = log->OldestSequence();
      break;
    case AuditStart::Kind::kNow:
      next = log->HeadSequence() + 1;
      break;
    case AuditStart::Kind::kTime: {
      GH_ASSIGN_OR_RETURN(next, log->FirstAtOrAfter(start.time));
      break;
    }
    case AuditStart::Kind::kSequence: {
      const uint64_t oldest = log->OldestSequence();
      const uint64_t head = log->HeadSequence();
      if (start.sequence < oldest) {
        return absl::OutOfRangeError(absl::StrCat(
            "from_sequence: ", start.sequence,
            " is older than retention; the oldest available is ", oldest));
      }
      if (start.sequence > head + 1) {
        return absl::OutOfRangeError(absl::StrCat(
            "from_sequence: ", start.sequence, " is beyond the head ", head,
            " (the next event will be ", head + 1, ")"));
      }
      next = start.sequence;
      break;
    }
  }
  return AuditCursor(log, next, std::move(filter), follow);
}

absl::StatusOr<std::vector<AuditEvent>> AuditCursor::Next(size_t max,
                                                          absl::Duration wait) {
  std::vector<AuditEvent> out;
  if (done_) return out;
  GH_ASSIGN_OR_RETURN(std::vector<AuditEvent> batch, log_->Read(next_, max));
  if (batch.empty()) {
    if (!follow_) {
      done_ = true;
    } else {
      log_->AwaitAfter(next_ - 1, wait);
    }
    return out;
  }
  next_ = batch.back().sequence + 1;
  for (AuditEvent& e : batch) {
    if (filter_.Matches(e)) out.push_back(std::move(e));
  }
  return out;
}

}  // namespace gatehouse
