#ifndef GATEHOUSE_SERVICE_CORE_LIMITER_H_
#define GATEHOUSE_SERVICE_CORE_LIMITER_H_

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "service/clock/clock.h"
#include "service/core/counter_store.h"
#include "service/core/policy.h"
#include "service/core/pseudonymizer.h"
#include "service/core/request.h"
#include "service/core/stripe_set.h"
#include "service/core/verdict.h"

namespace gatehouse {

// Decides Check / Peek / Record / Reset for a set of policies over a
// CounterStore: the domain core, free of gRPC and RocksDB.
//
// Thread-safe. Read-modify-write sequences are serialised per storage key by
// striped locks (a StripeSet, taken in a fixed order, so multi-subject
// requests cannot deadlock); a request of Peeks only takes none and reads
// committed states. A request (or batch) holds the stripes of all its items
// at once, without holding a thread, until its single commit is queued
// where the store shows_queued_states() (the next holder decides on the
// states it queued, and is written only if they were), else until it has
// settled. RunBatchAsync and RunAsync answer once the commit is written,
// from the thread that wrote it. Does not own the clock or the store, which
// must outlive it.
//
// Check, Record and Reset append one audit event per subject in the same
// commit as their counter changes; Peek appends events only for subjects it
// denies.
//
// Every operation validates the whole request first: INVALID_ARGUMENT (the
// message names the field) or NOT_FOUND (unknown policy) means nothing was
// counted. UNAVAILABLE / DATA_LOSS come from the store; a failed commit
// changes nothing.
class Limiter {
 public:
  // `pseudonymizer` (may be null: personal values are then stored raw, for
  // tests and tools only) must outlive the limiter.
  Limiter(const Clock* clock, CounterStore* store,
          std::shared_ptr<const PolicySet> policies,
          const Pseudonymizer* pseudonymizer = nullptr);
  Limiter(const Limiter&) = delete;
  Limiter& operator=(const Limiter&) = delete;

  // Counts the hits of every subject, atomically, only when all allow.
  absl::StatusOr<Response> Check(const Request& request);
  // The answer Check would give; changes nothing.
  absl::StatusOr<Response> Peek(const Request& request);
  // Counts hits that already happened, whatever the state. Verdicts say
  // whether the next attempt would be allowed.
  absl::StatusOr<Response> Record(const Request& request);
  // Clears counters, lockouts and offence history of the subjects.
  absl::StatusOr<Response> Reset(const Request& request);

  absl::StatusOr<Response> Run(Operation op, const Request& request);

  // Runs independent operations as if one after another, in order: each
  // keeps its own all-or-nothing semantics, its own validation and its own
  // result (one per item, in order), and sees the changes of the items
  // before it. Their changes and audit events go to the store in ONE
  // commit (group commit). An item's INVALID_ARGUMENT / NOT_FOUND or read
  // failure fails that item only and changes nothing; a failed commit fails
  // every item that was decided (nothing was written), except a Peek that
  // read no key changed by an earlier item nor a state of another commit
  // not yet written: it answers with audit_status set, as Run does. The
  // items' requests must outlive the call.
  std::vector<absl::StatusOr<Response>> RunBatch(
      absl::Span<const BatchItem> items);

  // RunBatch() that does not wait for stripes held by other requests nor
  // for the commit: `done` gets the results on this thread or on the one
  // that released the last stripe it waited for or wrote its commit. The
  // items' requests must outlive `done`, which must not wait for another
  // decision (RunBatch, Run and the single operations do): the thread that
  // runs it may be the one that would resume that decision.
  using BatchDone =
      absl::AnyInvocable<void(std::vector<absl::StatusOr<Response>>) &&>;
  void RunBatchAsync(absl::Span<const BatchItem> items, BatchDone done);
  // Run() the same way.
  using RunDone = absl::AnyInvocable<void(absl::StatusOr<Response>) &&>;
  void RunAsync(Operation op, const Request& request, RunDone done);

  // Appends one audit event for a call refused before it reached the
  // limiter (authentication, authorization), counting nothing. `reason`
  // should say the code and why, without secrets. Returns the event's
  // sequence, or the store's error.
  absl::StatusOr<uint64_t> AuditRefusal(Operation op, const Request& request,
                                        absl::string_view reason);
  // The audit event of that refusal, not committed (for RefusalAggregator):
  // the policy only when it is a known one, the context only when valid.
  AuditEvent RefusalEvent(Operation op, const Request& request,
                          absl::string_view reason) const;

  // Operator actions (the Admin service). Each takes a request of exactly
  // one subject (its hits ignored) with client_id set to the operator and
  // the operator's reason in operator_reason, and writes one audit event
  // (rpc "Block", "Unblock", "Inspect", "ListLockouts") with both. Errors
  // as for Run: INVALID_ARGUMENT naming the field, NOT_FOUND for an unknown
  // policy, the store's UNAVAILABLE (nothing changed).
  struct BlockResult {
    // kLockedUntilUnblockedMs when permanent.
    int64_t locked_until_ms = 0;
    bool permanent = false;
    // The subject's ip is in an exempt network: Check still allows it.
    bool exempt = false;
    uint64_t audit_sequence = 0;
  };
  // Locks the subject out for `duration` from now, or until unblocked when
  // it is absl::InfiniteDuration(), replacing any lockout it has (offences
  // are kept). The reason is required; the duration must be positive and
  // at most kMaxBlockDuration.
  absl::StatusOr<BlockResult> Block(const Request& request,
                                    absl::Duration duration);
  struct UnblockResult {
    // Locked out (by a ceiling or Block) when the call arrived.
    bool was_locked = false;
    uint64_t audit_sequence = 0;
  };
  // Lifts the subject's lockout and clears its counters and offence
  // history (Reset). The reason is required.
  absl::StatusOr<UnblockResult> Unblock(const Request& request);
  struct Inspection {
    std::string policy;
    // Dimension values as stored (pseudonyms, canonical IPs).
    std::vector<std::pair<std::string, std::string>> stored_key;
    // The live state: buckets that count now, lockout (0 when none or
    // over), offences within forget_after. Empty when nothing is stored.
    CounterState state;
    bool empty = true;
    uint64_t count = 0;
    uint64_t limit = 0;
    absl::Duration window;
    // Failure to write the Inspect's audit event; the answer stands.
    absl::Status audit_status;
  };
  // One subject's state; changes nothing but the audit log.
  absl::StatusOr<Inspection> Inspect(const Request& request);
  struct LockoutListing {
    std::vector<LockoutEntry> entries;
    // EncodeLockoutPageToken of the page's end; empty on the last page.
    std::string next_page_token;
    absl::Status audit_status;
  };
  // A page of the subjects locked out now, newest first (the lockout
  // index). `policy` empty: every policy's; page_size 0: 100, at most
  // kMaxLockoutPageSize; `page_token` a next_page_token or empty. Entries
  // of policies no longer in force are left out, so a page may hold fewer
  // than page_size before the last.
  absl::StatusOr<LockoutListing> ListLockouts(const std::string& policy,
                                              size_t page_size,
                                              const std::string& page_token,
                                              const std::string& client_id,
                                              const std::string& reason);

  static constexpr absl::Duration kMaxBlockDuration = absl::Hours(24 * 3650);
  static constexpr size_t kMaxOperatorReasonBytes = 256;

  // Replaces the policies; counters of policies that keep their name are
  // kept (a changed window re-buckets them).
  void SetPolicies(std::shared_ptr<const PolicySet> policies);
  std::shared_ptr<const PolicySet> policies() const;

 private:
  // Many: a request holds its stripes until its commit is written, and a
  // 16-subject batch must rarely find one held by another.
  static constexpr size_t kLockStripes = size_t{1} << 16;

  // A validated subject: which stored counter it touches and by how much.
  struct Target {
    const Policy* policy = nullptr;
    std::string storage_key;
    // Dimension values as stored (pseudonymised), for the audit log.
    std::vector<std::pair<std::string, std::string>> stored_values;
    uint64_t hits = 1;
    // What the policy's exempt and deny networks say about its ip value.
    NetworkMatch network;
  };
  struct Plan;
  class Overlay;
  // A RunBatchAsync in progress.
  struct BatchRun;
  // Its stripes held: decides every valid item and commits.
  void DecideHeld(std::unique_ptr<BatchRun> run);
  // Its commit settled with `committed`: releases the stripes and answers.
  void Answer(std::unique_ptr<BatchRun> run, const absl::Status& committed);
  absl::Status Resolve(const PolicySet& policies, const Request& request,
                       std::vector<Target>& targets) const;
  // Decides one validated item at `now_ms`: reads through `overlay` (the
  // changes of earlier items of the batch; then, with `after`, the store's
  // latest states, adding the commits not yet written that it read there),
  // records its own changes there and appends its audit events to `audit`.
  // On a read error nothing was recorded.
  absl::Status Decide(Operation op, const Request& request, int64_t now_ms,
                      Plan& plan, Overlay& overlay, CommitOutcomes* after,
                      std::vector<AuditEvent>& audit, Response& response);

  // The one subject of an operator's request, resolved and read.
  struct Held;
  // Resolves the request's one subject and reads its state at `now_ms`,
  // holding its stripe for the caller when `lock`.
  absl::StatusOr<Held> Hold(const PolicySet& policies, const Request& request,
                            int64_t now_ms, bool lock);
  // The audit event of an operator call about `held`'s subject.
  AuditEvent OperatorEvent(const Request& request, const Held& held,
                           int64_t now_ms) const;
  // Commits `event` alone; its sequence, or the store's error.
  absl::StatusOr<uint64_t> CommitEvent(AuditEvent event);
  size_t StripeOf(const std::string& storage_key) const {
    return std::hash<std::string>{}(storage_key) % kLockStripes;
  }

  const Clock* const clock_;
  CounterStore* const store_;
  const Pseudonymizer* const pseudonymizer_;
  StripeSet stripes_{kLockStripes};

  mutable absl::Mutex policies_mu_;
  std::shared_ptr<const PolicySet> policies_ ABSL_GUARDED_BY(policies_mu_);
};

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_CORE_LIMITER_H_
