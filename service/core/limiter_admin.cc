// The Limiter's operator actions (Block, Unblock, Inspect, ListLockouts):
// the Admin service's core.
#include <memory>

#include "absl/strings/str_cat.h"
#include "service/core/counter_rules.h"
#include "service/core/limiter.h"
#include "service/core/status_macros.h"
#include "service/core/subject_key.h"

namespace gatehouse {

struct Limiter::Held {
  Target target;
  // Releases the held stripe, if any, when the Held goes.
  std::unique_ptr<StripeSet::Hold> lock;
  // The lockout as stored (its index entry), and the live state.
  CounterState read_lockout;
  CounterState live;
  bool empty = true;
  // The commits not yet written whose states were read (WriteSet::after).
  CommitOutcomes after;
};

namespace {

absl::Status ValidateReason(const std::string& reason, bool required) {
  if (reason.empty() && !required) return absl::OkStatus();
  if (reason.empty() || reason.size() > Limiter::kMaxOperatorReasonBytes ||
      !IsCleanUtf8(reason)) {
    return absl::InvalidArgumentError(
        absl::StrCat("reason: ", required ? "required, " : "", "1..",
                     Limiter::kMaxOperatorReasonBytes,
                     " bytes of UTF-8 without control characters"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Limiter::Held> Limiter::Hold(const PolicySet& policies,
                                            const Request& request,
                                            int64_t now_ms, bool lock) {
  if (request.subjects.size() != 1) {
    return absl::InvalidArgumentError("subject: required");
  }
  Held held;
  std::vector<Target> targets;
  GH_RETURN_IF_ERROR(Resolve(policies, request, targets));
  held.target = std::move(targets.front());
  if (lock) {
    held.lock = std::make_unique<StripeSet::Hold>(
        &stripes_, StripeOf(held.target.storage_key));
  }
  // The holder of the stripe changes the key: it reads the last state
  // queued for it (and commits after those it read).
  absl::StatusOr<std::optional<CounterState>> stored =
      lock ? store_->ReadLatest(held.target.storage_key, held.after)
           : store_->Read(held.target.storage_key);
  if (!stored.ok()) return stored.status();
  const Policy& policy = *held.target.policy;
  if (stored->has_value() && (*stored)->expires_at_ms > now_ms) {
    held.empty = false;
    held.read_lockout.locked_at_ms = (*stored)->locked_at_ms;
    held.read_lockout.lockout_until_ms = (*stored)->lockout_until_ms;
  }
  held.live = LiveState(policy, *std::move(stored), now_ms);
  return held;
}

AuditEvent Limiter::OperatorEvent(const Request& request, const Held& held,
                                  int64_t now_ms) const {
  const Policy& p = *held.target.policy;
  AuditEvent e;
  e.time_ms = now_ms;
  e.client_id = request.client_id;
  e.operator_reason = request.operator_reason;
  e.policy = p.name;
  e.key = held.target.stored_values;
  e.limit = p.limit;
  e.window_ms = p.WindowMillis();
  e.count = WindowOf(p).Count(held.live, now_ms);
  if (held.live.lockout_until_ms > now_ms) {
    e.permanent = held.live.lockout_until_ms == kLockedUntilUnblockedMs;
    e.locked_until_ms = ShownLockoutEndMs(held.live.lockout_until_ms);
  }
  e.context = request.context;
  return e;
}

absl::StatusOr<uint64_t> Limiter::CommitEvent(AuditEvent event) {
  WriteSet writes;
  writes.audit.push_back(std::move(event));
  GH_RETURN_IF_ERROR(store_->Commit(writes));
  return writes.audit.front().sequence;
}

absl::StatusOr<Limiter::BlockResult> Limiter::Block(const Request& request,
                                                    absl::Duration duration) {
  GH_RETURN_IF_ERROR(ValidateReason(request.operator_reason, true));
  if (duration != absl::InfiniteDuration() &&
      (duration <= absl::ZeroDuration() || duration > kMaxBlockDuration)) {
    return absl::InvalidArgumentError(
        "duration: must be positive and at most 3650 days (unset: until "
        "unblocked)");
  }
  const std::shared_ptr<const PolicySet> policies = this->policies();
  const int64_t now_ms = absl::ToUnixMillis(clock_->Now());
  GH_ASSIGN_OR_RETURN(Held held, Hold(*policies, request, now_ms, true));
  const Policy& policy = *held.target.policy;
  const int64_t until = duration == absl::InfiniteDuration()
                            ? kLockedUntilUnblockedMs
                            : now_ms + absl::ToInt64Milliseconds(duration);
  LockUntil(held.live, until, now_ms);
  held.live.expires_at_ms = ExpiresAt(policy, held.live);

  WriteSet writes;
  LockoutEntry entry;
  entry.policy = policy.name;
  entry.storage_key = held.target.storage_key;
  entry.key = held.target.stored_values;
  entry.reason = request.operator_reason;
  entry.blocked_by = request.client_id;
  AppendLockoutChanges(held.read_lockout, held.live, now_ms, std::move(entry),
                       writes.lockouts);
  AuditEvent e = OperatorEvent(request, held, now_ms);
  e.op = Operation::kRecord;
  e.rpc = "Block";
  e.decision = Decision::kDeny;
  writes.audit.push_back(std::move(e));
  writes.puts.emplace_back(held.target.storage_key, held.live);
  writes.put_events.push_back(0);
  writes.after = std::move(held.after);
  GH_RETURN_IF_ERROR(store_->Commit(writes));

  BlockResult result;
  result.locked_until_ms = until;
  result.permanent = until == kLockedUntilUnblockedMs;
  result.exempt = held.target.network.reason == VerdictReason::kExempt;
  result.audit_sequence = writes.audit.front().sequence;
  return result;
}

absl::StatusOr<Limiter::UnblockResult> Limiter::Unblock(
    const Request& request) {
  GH_RETURN_IF_ERROR(ValidateReason(request.operator_reason, true));
  const std::shared_ptr<const PolicySet> policies = this->policies();
  const int64_t now_ms = absl::ToUnixMillis(clock_->Now());
  GH_ASSIGN_OR_RETURN(Held held, Hold(*policies, request, now_ms, true));
  UnblockResult result;
  result.was_locked = held.live.lockout_until_ms > now_ms;

  WriteSet writes;
  LockoutEntry entry;
  entry.policy = held.target.policy->name;
  entry.storage_key = held.target.storage_key;
  AppendLockoutChanges(held.read_lockout, CounterState{}, now_ms,
                       std::move(entry), writes.lockouts);
  AuditEvent e = OperatorEvent(request, held, now_ms);
  // What the subject is after the call: cleared.
  e.op = Operation::kReset;
  e.rpc = "Unblock";
  e.decision = Decision::kAllow;
  e.count = 0;
  e.locked_until_ms = 0;
  e.permanent = false;
  writes.audit.push_back(std::move(e));
  writes.deletes.push_back(held.target.storage_key);
  writes.after = std::move(held.after);
  GH_RETURN_IF_ERROR(store_->Commit(writes));
  result.audit_sequence = writes.audit.front().sequence;
  return result;
}

absl::StatusOr<Limiter::Inspection> Limiter::Inspect(const Request& request) {
  GH_RETURN_IF_ERROR(ValidateReason(request.operator_reason, false));
  const std::shared_ptr<const PolicySet> policies = this->policies();
  const int64_t now_ms = absl::ToUnixMillis(clock_->Now());
  GH_ASSIGN_OR_RETURN(Held held, Hold(*policies, request, now_ms, false));
  const Policy& policy = *held.target.policy;
  Inspection out;
  out.policy = policy.name;
  out.stored_key = held.target.stored_values;
  out.empty = held.empty;
  out.state = held.live;
  if (out.state.lockout_until_ms <= now_ms) {
    out.state.lockout_until_ms = 0;
    out.state.locked_at_ms = 0;
  }
  out.count = WindowOf(policy).Count(held.live, now_ms);
  out.limit = policy.limit;
  out.window = policy.window;
  AuditEvent e = OperatorEvent(request, held, now_ms);
  e.op = Operation::kPeek;
  e.rpc = "Inspect";
  out.audit_status = CommitEvent(std::move(e)).status();
  return out;
}

absl::StatusOr<Limiter::LockoutListing> Limiter::ListLockouts(
    const std::string& policy, size_t page_size, const std::string& page_token,
    const std::string& client_id, const std::string& reason) {
  GH_RETURN_IF_ERROR(ValidateReason(reason, false));
  const std::shared_ptr<const PolicySet> current = policies();
  if (!policy.empty() && current->Find(policy) == nullptr) {
    return absl::NotFoundError(absl::StrCat(
        "policy: no policy named \"",
        IsCleanUtf8(policy) && policy.size() <= 128 ? policy : "?", "\""));
  }
  if (page_size > kMaxLockoutPageSize) {
    return absl::InvalidArgumentError(absl::StrCat(
        "page_size: ", page_size, " is more than ", kMaxLockoutPageSize));
  }
  LockoutQuery query;
  query.policy = policy;
  query.page_size = page_size == 0 ? 100 : page_size;
  query.now_ms = absl::ToUnixMillis(clock_->Now());
  if (!page_token.empty()) {
    GH_ASSIGN_OR_RETURN(query.after,
                        DecodeLockoutPageToken(page_token, "page_token"));
  }
  GH_ASSIGN_OR_RETURN(LockoutPage page, store_->ListLockouts(query));
  LockoutListing out;
  // Lockouts of a policy the file no longer has bind nobody (no call can
  // name it); they show again if it comes back, until they expire.
  for (LockoutEntry& e : page.entries) {
    if (current->Find(e.policy) != nullptr) out.entries.push_back(std::move(e));
  }
  if (!page.next.empty()) {
    out.next_page_token = EncodeLockoutPageToken(page.next);
  }
  AuditEvent e;
  e.time_ms = query.now_ms;
  e.client_id = client_id;
  e.op = Operation::kPeek;
  e.rpc = "ListLockouts";
  e.operator_reason = reason;
  e.policy = policy;
  e.count = out.entries.size();
  out.audit_status = CommitEvent(std::move(e)).status();
  return out;
}

}  // namespace gatehouse
