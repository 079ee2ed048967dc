#include "service/core/counter_rules.h"

#include <algorithm>

namespace gatehouse {
namespace {

// Leeway for lockouts an operator set longer than the policy gives: the
// wall clock may step back this far without lifting them.
constexpr int64_t kOperatorLockoutSlackMs = 60'000;

// After the wall clock went backwards, a state can hold times after now.
// A lockout ending later than the longest the policy gives from now (or,
// for one an operator set longer, than its own length plus a minute) is
// lifted (not shortened: a shortened one would be shortened again on every
// read, the state not being rewritten by Peek), so no clock step locks a
// subject out for longer than that; and the last offence cannot be later
// than now. With SlidingWindow::Normalize, a step back never denies longer
// than two windows or the longest lockout, and forgets only hits stamped
// more than a window ahead.
void ClampToClock(const Policy& policy, int64_t now_ms, CounterState& state) {
  int64_t longest =
      policy.lockout ? absl::ToInt64Milliseconds(policy.lockout->max) : 0;
  const int64_t own =
      state.locked_at_ms > 0 ? state.lockout_until_ms - state.locked_at_ms : 0;
  if (own > longest) longest = own + kOperatorLockoutSlackMs;
  // A permanent lockout has no end to compare; only an operator lifts it.
  if (state.lockout_until_ms != kLockedUntilUnblockedMs &&
      state.lockout_until_ms > now_ms + longest) {
    state.lockout_until_ms = 0;
    state.locked_at_ms = 0;
  }
  if (state.last_offence_ms > now_ms) state.last_offence_ms = now_ms;
}

}  // namespace

CounterState LiveState(const Policy& policy, std::optional<CounterState> stored,
                       int64_t now_ms) {
  CounterState state;
  if (stored.has_value() && stored->expires_at_ms > now_ms) {
    state = *std::move(stored);
  }
  WindowOf(policy).Normalize(state, now_ms);
  ClampToClock(policy, now_ms, state);
  // ">=": an offence forget_after later is a first offence, as it is when
  // the state expired at last_offence_ms + forget_after (see ExpiresAt).
  if (policy.lockout && state.offences > 0 &&
      now_ms - state.last_offence_ms >=
          absl::ToInt64Milliseconds(policy.lockout->forget_after)) {
    state.offences = 0;
  }
  return state;
}

int64_t ExpiresAt(const Policy& policy, const CounterState& state) {
  int64_t expires = state.lockout_until_ms;
  if (!state.buckets.empty()) {
    expires = std::max(expires,
                       WindowOf(policy).ExpiryOf(state.buckets.back().index));
  }
  if (state.offences > 0 && policy.lockout) {
    expires = std::max(
        expires, state.last_offence_ms +
                     absl::ToInt64Milliseconds(policy.lockout->forget_after));
  }
  return expires;
}

void AppendLockoutChanges(const CounterState& before, const CounterState& after,
                          int64_t now_ms, LockoutEntry entry,
                          std::vector<LockoutChange>& changes) {
  if (before.locked_at_ms == after.locked_at_ms &&
      before.lockout_until_ms == after.lockout_until_ms) {
    return;
  }
  if (before.locked_at_ms > 0) {
    LockoutChange del;
    del.kind = LockoutChange::Kind::kDelete;
    del.entry.policy = entry.policy;
    del.entry.storage_key = entry.storage_key;
    del.entry.locked_at_ms = before.locked_at_ms;
    changes.push_back(std::move(del));
  }
  if (after.locked_at_ms > 0 && after.lockout_until_ms > now_ms) {
    entry.locked_at_ms = after.locked_at_ms;
    entry.locked_until_ms = after.lockout_until_ms;
    entry.offences = after.offences;
    changes.push_back({LockoutChange::Kind::kPut, std::move(entry)});
  }
}

}  // namespace gatehouse
