#include "service/core/limiter.h"

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "service/core/counter_rules.h"
#include "service/core/sliding_window.h"
#include "service/core/status_macros.h"
#include "service/core/subject_key.h"

namespace gatehouse {

namespace {

// All subjects of one request that share a storage key are decided together
// on their summed hits, so a request naming a key twice cannot slip past the
// limit.
struct Group {
  const Policy* policy = nullptr;
  std::string key;
  // Hits of the group's targets that are not exempt.
  uint64_t hits = 0;
  // Every target is exempt: nothing is counted, nothing denied.
  bool exempt = true;
  // A target is denylisted: always denied.
  bool denylisted = false;
  CounterState state;
  // The lockout as read (LockoutIndex keeps its entry), before any change.
  CounterState read_lockout;
  uint64_t count_before = 0;
  bool enforce_deny = false;  // What enforce mode decides.
  bool actual_deny = false;   // After shadow mode.
  bool ceiling_hit = false;
};

// Up to this many targets, a request's groups are found by a scan.
constexpr size_t kScannedTargets = 8;

absl::Status ValidateContext(const std::map<std::string, std::string>& ctx) {
  if (ctx.size() > kMaxContextEntries) {
    return absl::InvalidArgumentError(absl::StrCat(
        "context: ", ctx.size(), " entries, at most ", kMaxContextEntries));
  }
  for (const auto& [k, v] : ctx) {
    if (k.empty() || k.size() > kMaxContextKeyBytes || !IsCleanUtf8(k)) {
      return absl::InvalidArgumentError(
          absl::StrCat("context: keys must be 1..", kMaxContextKeyBytes,
                       " bytes of UTF-8 without control characters"));
    }
    if (v.size() > kMaxContextValueBytes || !IsCleanUtf8(v)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "context[\"", k, "\"]: value must be at most ", kMaxContextValueBytes,
          " bytes of UTF-8 without control characters"));
    }
  }
  return absl::OkStatus();
}

// Counts `g.hits` and, when that reaches the ceiling, starts a lockout.
void Apply(Group& g, const SlidingWindow& window, int64_t now_ms) {
  window.Add(g.state, now_ms, g.hits);
  const uint64_t limit = g.policy->limit;
  g.ceiling_hit = g.count_before < limit && g.count_before + g.hits >= limit;
  if (g.ceiling_hit && g.policy->lockout) {
    const LockoutSpec& spec = *g.policy->lockout;
    g.state.offences += 1;
    g.state.last_offence_ms = now_ms;
    if (spec.permanent_after > 0 && g.state.offences >= spec.permanent_after) {
      LockUntil(g.state, kLockedUntilUnblockedMs, now_ms);
    } else {
      const int64_t until =
          now_ms + absl::ToInt64Milliseconds(spec.LengthOf(g.state.offences));
      if (until > g.state.lockout_until_ms) LockUntil(g.state, until, now_ms);
    }
  }
  g.state.expires_at_ms = ExpiresAt(*g.policy, g.state);
}

absl::Duration Millis(int64_t ms) {
  return absl::Milliseconds(std::max<int64_t>(0, ms));
}

}  // namespace

Limiter::Limiter(const Clock* clock, CounterStore* store,
                 std::shared_ptr<const PolicySet> policies,
                 const Pseudonymizer* pseudonymizer)
    : clock_(clock),
      store_(store),
      pseudonymizer_(pseudonymizer),
      policies_(std::move(policies)) {}

void Limiter::SetPolicies(std::shared_ptr<const PolicySet> policies) {
  absl::MutexLock lock(&policies_mu_);
  policies_ = std::move(policies);
}

std::shared_ptr<const PolicySet> Limiter::policies() const {
  absl::MutexLock lock(&policies_mu_);
  return policies_;
}

absl::Status Limiter::Resolve(const PolicySet& policies, const Request& request,
                              std::vector<Target>& targets) const {
  if (request.subjects.empty()) {
    return absl::InvalidArgumentError(
        "subjects: at least one subject is required");
  }
  if (request.subjects.size() > kMaxSubjects) {
    return absl::InvalidArgumentError(
        absl::StrCat("subjects: ", request.subjects.size(),
                     " subjects, at most ", kMaxSubjects));
  }
  GH_RETURN_IF_ERROR(ValidateContext(request.context));
  targets.reserve(request.subjects.size());
  for (size_t i = 0; i < request.subjects.size(); ++i) {
    const SubjectRequest& s = request.subjects[i];
    const std::string field =
        s.field.empty() ? absl::StrCat("subjects[", i, "]") : s.field;
    if (s.policy.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".policy: required"));
    }
    const Policy* policy = policies.Find(s.policy);
    if (policy == nullptr) {
      return absl::NotFoundError(absl::StrCat(
          field, ".policy: no policy named \"",
          IsCleanUtf8(s.policy) && s.policy.size() <= 128 ? s.policy : "?",
          "\""));
    }
    if (s.hits > kMaxHits) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, ".hits: ", s.hits, " is more than the maximum ", kMaxHits));
    }
    Target t;
    t.policy = policy;
    t.hits = s.hits == 0 ? 1 : s.hits;
    KeyOptions options;
    options.pseudonymizer = pseudonymizer_;
    options.personal_dimensions = &policies.personal_dimensions();
    options.value_fields = &s.value_fields;
    GH_ASSIGN_OR_RETURN(
        DerivedKey derived,
        DeriveSubjectKey(*policy, s.key, field + ".key", options));
    t.storage_key = std::move(derived.storage_key);
    t.stored_values = std::move(derived.stored_values);
    if (policy->HasNetworks()) {
      // The address as sent (canonicalised, not truncated to ip_prefix);
      // DeriveSubjectKey has checked that it is one.
      auto ip = s.key.find(kIpDimension);
      std::optional<IpAddress> address =
          ip == s.key.end() ? std::nullopt : ParseIpAddress(ip->second);
      if (address.has_value()) t.network = policy->MatchNetwork(*address);
    }
    targets.push_back(std::move(t));
  }
  return absl::OkStatus();
}

absl::StatusOr<Response> Limiter::Check(const Request& request) {
  return Run(Operation::kCheck, request);
}
absl::StatusOr<Response> Limiter::Peek(const Request& request) {
  return Run(Operation::kPeek, request);
}
absl::StatusOr<Response> Limiter::Record(const Request& request) {
  return Run(Operation::kRecord, request);
}
absl::StatusOr<Response> Limiter::Reset(const Request& request) {
  return Run(Operation::kReset, request);
}

// A validated item of a batch: its targets grouped by storage key, and for
// each target the index of its audit event in the batch's WriteSet.
struct Limiter::Plan {
  bool valid = false;
  // Whether the item read a key that an earlier item of the batch changed,
  // or a state of another commit not yet written.
  bool read_changes = false;
  std::vector<Target> targets;
  std::vector<Group> groups;
  std::vector<size_t> group_of;
  std::vector<size_t> event_of;
};

// The changes made by the items of a batch so far, by storage key (nullopt:
// deleted). Later items read through it, and it becomes the batch's puts and
// deletes: one entry per key, so a key both deleted and written in one batch
// ends up as its last change.
class Limiter::Overlay {
 public:
  // Sets *changed when the key was changed by an earlier item, or when
  // the store showed a queued state (ReadLatest, which it does when `after`
  // is set, adding that commit there).
  absl::StatusOr<std::optional<CounterState>> Read(CounterStore* store,
                                                   const std::string& key,
                                                   CommitOutcomes* after,
                                                   bool* changed) {
    auto it = changes_.find(key);
    if (it != changes_.end()) {
      *changed = true;
      return it->second.state;
    }
    if (after == nullptr) return store->Read(key);
    const size_t before = after->size();
    absl::StatusOr<std::optional<CounterState>> stored =
        store->ReadLatest(key, *after);
    if (after->size() != before) *changed = true;
    return stored;
  }
  void Put(const std::string& key, const CounterState& state) {
    changes_[key].state = state;
  }
  void Delete(const std::string& key) { changes_[key].state = std::nullopt; }
  // The audit event (its index in the batch's events) that last described
  // a change of `key`: its sequence is stamped into the state written.
  void Described(const std::string& key, size_t event) {
    changes_[key].event = event;
  }
  std::vector<LockoutChange>& lockouts() { return lockouts_; }

  void MoveTo(WriteSet& writes) {
    for (auto& [key, change] : changes_) {
      if (change.state.has_value()) {
        writes.put_events.push_back(change.event);
        writes.puts.emplace_back(key, *std::move(change.state));
      } else {
        writes.deletes.push_back(key);
      }
    }
    writes.lockouts = std::move(lockouts_);
    changes_.clear();
    lockouts_.clear();
  }

 private:
  struct Change {
    // nullopt: deleted.
    std::optional<CounterState> state;
    size_t event = WriteSet::kNoEvent;
  };
  absl::flat_hash_map<std::string, Change> changes_;
  std::vector<LockoutChange> lockouts_;
};

absl::StatusOr<Response> Limiter::Run(Operation op, const Request& request) {
  const BatchItem item{op, &request};
  std::vector<absl::StatusOr<Response>> results =
      RunBatch(absl::MakeConstSpan(&item, 1));
  return std::move(results.front());
}

struct Limiter::BatchRun {
  absl::Span<const BatchItem> items;
  std::shared_ptr<const PolicySet> policies;
  std::vector<absl::StatusOr<Response>> results;
  std::vector<Plan> plans;
  // Held from DecideHeld until its commit is queued (where the store shows
  // queued states) or Answer.
  std::vector<size_t> stripes;
  // Peeks only: reads committed states, holding no stripe.
  bool reads_only = false;
  // The stripes were released when the commit was queued.
  bool released = false;
  WriteSet writes;
  BatchDone done;
};

std::vector<absl::StatusOr<Response>> Limiter::RunBatch(
    absl::Span<const BatchItem> items) {
  std::vector<absl::StatusOr<Response>> out;
  absl::Notification answered;
  RunBatchAsync(items, [&](std::vector<absl::StatusOr<Response>> results) {
    out = std::move(results);
    answered.Notify();
  });
  answered.WaitForNotification();
  return out;
}

void Limiter::RunAsync(Operation op, const Request& request, RunDone done) {
  // The item lives with the run: RunBatchAsync keeps only a span of it.
  auto item = std::make_unique<BatchItem>(BatchItem{op, &request});
  const BatchItem* items = item.get();
  RunBatchAsync(absl::MakeConstSpan(items, 1),
                [item = std::move(item), done = std::move(done)](
                    std::vector<absl::StatusOr<Response>> results) mutable {
                  std::move(done)(std::move(results.front()));
                });
}

void Limiter::RunBatchAsync(absl::Span<const BatchItem> items, BatchDone done) {
  auto run = std::make_unique<BatchRun>();
  run->items = items;
  run->done = std::move(done);
  run->policies = this->policies();
  const PolicySet* policies = run->policies.get();
  std::vector<absl::StatusOr<Response>>& results = run->results;
  results.reserve(items.size());
  std::vector<Plan>& plans = run->plans;
  plans.resize(items.size());
  std::vector<size_t>& stripes = run->stripes;
  for (size_t i = 0; i < items.size(); ++i) {
    Plan& plan = plans[i];
    absl::Status valid = Resolve(*policies, *items[i].request, plan.targets);
    if (!valid.ok()) {
      results.emplace_back(std::move(valid));
      continue;
    }
    results.emplace_back(Response{});
    plan.valid = true;
    plan.group_of.resize(plan.targets.size());
    // Most requests name one to three subjects: their groups are found by
    // a scan; a longer request's through an index.
    absl::flat_hash_map<absl::string_view, size_t> index;
    const bool indexed = plan.targets.size() > kScannedTargets;
    for (size_t t = 0; t < plan.targets.size(); ++t) {
      const std::string& key = plan.targets[t].storage_key;
      size_t group = 0;
      if (indexed) {
        group = index.try_emplace(key, plan.groups.size()).first->second;
      } else {
        while (group < plan.groups.size() && plan.groups[group].key != key) {
          ++group;
        }
      }
      if (group == plan.groups.size()) {
        Group g;
        g.policy = plan.targets[t].policy;
        g.key = plan.targets[t].storage_key;
        plan.groups.push_back(std::move(g));
      }
      plan.group_of[t] = group;
      Group& g = plan.groups[group];
      const VerdictReason reason = plan.targets[t].network.reason;
      if (reason != VerdictReason::kExempt) {
        g.exempt = false;
        g.hits += plan.targets[t].hits;
      }
      if (reason == VerdictReason::kDenylisted) g.denylisted = true;
    }
    for (const Group& g : plan.groups) stripes.push_back(StripeOf(g.key));
  }
  // A request of Peeks only takes no stripe: it reads, answering from
  // committed states, and never waits to be resumed. Any other takes the
  // stripes of its Peeks' keys too, so that, resumed on the thread writing
  // a commit group, it never reads a key whose commit that thread has yet
  // to write (CachedCounterStore::Read would wait for it).
  const bool reads_only = std::all_of(
      items.begin(), items.end(),
      [](const BatchItem& item) { return item.op == Operation::kPeek; });
  if (reads_only) stripes.clear();
  run->reads_only = reads_only;

  // Every stripe of the batch, in ascending order, for the whole batch: the
  // same order as any other request, so batches cannot deadlock.
  std::sort(stripes.begin(), stripes.end());
  stripes.erase(std::unique(stripes.begin(), stripes.end()), stripes.end());
  std::vector<size_t> wanted = stripes;
  BatchRun* held = run.release();
  stripes_.Acquire(std::move(wanted), [this, held] {
    DecideHeld(std::unique_ptr<BatchRun>(held));
  });
}

void Limiter::DecideHeld(std::unique_ptr<BatchRun> run) {
  absl::Span<const BatchItem> items = run->items;
  std::vector<Plan>& plans = run->plans;
  std::vector<absl::StatusOr<Response>>& results = run->results;
  WriteSet& writes = run->writes;
  const int64_t now_ms = absl::ToUnixMillis(clock_->Now());
  Overlay overlay;
  // The holder of a key's stripe decides on the last state queued for it.
  CommitOutcomes* after = run->reads_only ? nullptr : &writes.after;
  for (size_t i = 0; i < items.size(); ++i) {
    if (!plans[i].valid) continue;
    absl::Status decided =
        Decide(items[i].op, *items[i].request, now_ms, plans[i], overlay, after,
               writes.audit, *results[i]);
    if (!decided.ok()) {
      plans[i].valid = false;
      results[i] = std::move(decided);
    }
  }
  overlay.MoveTo(writes);
  if (writes.empty()) {
    Answer(std::move(run), absl::OkStatus());
    return;
  }
  BatchRun* held = run.release();
  auto answer = [this, held](absl::Status committed) {
    Answer(std::unique_ptr<BatchRun>(held), committed);
  };
  if (!store_->shows_queued_states()) {
    store_->CommitAsync(held->writes, std::move(answer));
    return;
  }
  // The next holders of these stripes decide on this commit's states as
  // soon as it is queued; each is written only if the ones it read were.
  store_->CommitInOrder(
      held->writes,
      [this, held] {
        held->released = true;
        stripes_.Release(held->stripes);
      },
      std::move(answer));
}

void Limiter::Answer(std::unique_ptr<BatchRun> run,
                     const absl::Status& committed) {
  if (!run->released) stripes_.Release(run->stripes);
  absl::Span<const BatchItem> items = run->items;
  std::vector<Plan>& plans = run->plans;
  std::vector<absl::StatusOr<Response>>& results = run->results;
  const WriteSet& writes = run->writes;
  if (!committed.ok()) {
    for (size_t i = 0; i < items.size(); ++i) {
      if (!plans[i].valid) continue;
      // A Peek is a read: it answers from what the store holds even when
      // its audit events cannot be written (the caller reports that),
      // unless it saw changes of earlier items that were not written.
      if (items[i].op == Operation::kPeek && !plans[i].read_changes) {
        results[i]->audit_status = committed;
      } else {
        results[i] = committed;
      }
    }
  } else {
    for (size_t i = 0; i < items.size(); ++i) {
      if (!plans[i].valid) continue;
      std::vector<Verdict>& verdicts = results[i]->verdicts;
      for (size_t t = 0; t < verdicts.size(); ++t) {
        if (plans[i].event_of[t] != SIZE_MAX) {
          verdicts[t].audit_sequence =
              writes.audit[plans[i].event_of[t]].sequence;
        }
      }
    }
  }
  BatchDone done = std::move(run->done);
  std::vector<absl::StatusOr<Response>> out = std::move(run->results);
  run.reset();
  std::move(done)(std::move(out));
}

absl::Status Limiter::Decide(Operation op, const Request& request,
                             int64_t now_ms, Plan& plan, Overlay& overlay,
                             CommitOutcomes* after,
                             std::vector<AuditEvent>& audit,
                             Response& response) {
  std::vector<Target>& targets = plan.targets;
  std::vector<Group>& groups = plan.groups;
  const std::vector<size_t>& group_of = plan.group_of;
  for (Group& g : groups) {
    // Read in place, not moved into a local optional: GCC 12 at -O2/-O3
    // warns (-Wmaybe-uninitialized) about the optional's vector otherwise.
    absl::StatusOr<std::optional<CounterState>> stored =
        overlay.Read(store_, g.key, after, &plan.read_changes);
    if (!stored.ok()) return stored.status();
    if (stored->has_value() && (*stored)->expires_at_ms > now_ms) {
      g.read_lockout.locked_at_ms = (*stored)->locked_at_ms;
      g.read_lockout.lockout_until_ms = (*stored)->lockout_until_ms;
    }
    g.state = LiveState(*g.policy, *std::move(stored), now_ms);
    g.count_before = WindowOf(*g.policy).Count(g.state, now_ms);
  }

  // Every read succeeded: from here on the item's changes are recorded.
  bool all_allowed = true;
  for (Group& g : groups) {
    const SlidingWindow window(g.policy->WindowMillis(),
                               g.policy->BucketMillis());
    switch (op) {
      case Operation::kCheck:
      case Operation::kPeek:
        g.enforce_deny =
            !g.exempt && (g.denylisted || g.state.lockout_until_ms > now_ms ||
                          g.count_before + g.hits > g.policy->limit);
        break;
      case Operation::kRecord:
        if (g.exempt) break;
        Apply(g, window, now_ms);
        // Whether a next single attempt would be allowed.
        g.enforce_deny = g.denylisted || g.state.lockout_until_ms > now_ms ||
                         window.Count(g.state, now_ms) + 1 > g.policy->limit;
        overlay.Put(g.key, g.state);
        break;
      case Operation::kReset:
        g.state = CounterState{};
        overlay.Delete(g.key);
        break;
    }
    g.actual_deny = g.enforce_deny && g.policy->mode == PolicyMode::kEnforce;
    if (g.actual_deny) all_allowed = false;
  }
  const bool counted = op == Operation::kCheck && all_allowed;
  if (counted) {
    for (Group& g : groups) {
      if (g.exempt) continue;
      const SlidingWindow window(g.policy->WindowMillis(),
                                 g.policy->BucketMillis());
      Apply(g, window, now_ms);
      overlay.Put(g.key, g.state);
    }
  }
  response.allowed = all_allowed;
  response.verdicts.reserve(targets.size());
  // At most one event per target. A batch's items share `audit`: it still
  // grows geometrically.
  if (const size_t need = audit.size() + targets.size();
      need > audit.capacity()) {
    audit.reserve(std::max(need, 2 * audit.capacity()));
  }
  plan.event_of.assign(targets.size(), SIZE_MAX);
  std::vector<bool> first_of_group(groups.size(), true);
  for (size_t i = 0; i < targets.size(); ++i) {
    const Group& g = groups[group_of[i]];
    const Policy& p = *g.policy;
    const SlidingWindow window(p.WindowMillis(), p.BucketMillis());
    Verdict v;
    v.policy = p.name;
    v.limit = p.limit;
    v.window = p.window;
    v.count = window.Count(g.state, now_ms);
    v.remaining = v.count >= p.limit ? 0 : p.limit - v.count;
    // Whether this item wrote the group's state (Reset deletes it).
    const bool changed = (op == Operation::kRecord || counted) && !g.exempt;
    if (first_of_group[group_of[i]] && (changed || op == Operation::kReset)) {
      LockoutEntry entry;
      entry.policy = p.name;
      entry.storage_key = g.key;
      entry.key = targets[i].stored_values;
      AppendLockoutChanges(g.read_lockout, g.state, now_ms, std::move(entry),
                           overlay.lockouts());
    }
    // A key named twice in one request crosses its ceiling once.
    v.ceiling_hit = g.ceiling_hit && first_of_group[group_of[i]];
    first_of_group[group_of[i]] = false;
    v.shadow = p.mode == PolicyMode::kShadow;
    // Reset clears whatever the networks say.
    const NetworkMatch network =
        op == Operation::kReset ? NetworkMatch{} : targets[i].network;
    const bool exempt = network.reason == VerdictReason::kExempt;
    const bool enforce_deny = g.enforce_deny && !exempt;
    v.decision = enforce_deny && g.policy->mode == PolicyMode::kEnforce
                     ? Decision::kDeny
                     : Decision::kAllow;
    if (v.shadow) {
      v.shadow_decision = enforce_deny ? Decision::kDeny : Decision::kAllow;
    }
    if (network.entry != nullptr) {
      v.reason = network.reason;
      v.network = network.entry->prefix.text;
      v.deny_reason = network.entry->reason;
    }
    // A permanent lockout is shown ending at the last representable time.
    v.permanent = g.state.lockout_until_ms == kLockedUntilUnblockedMs;
    const int64_t locked_until = ShownLockoutEndMs(g.state.lockout_until_ms);
    const int64_t lockout_left = exempt ? 0 : locked_until - now_ms;
    if (lockout_left > 0) {
      v.locked_until = absl::FromUnixMillis(locked_until);
    } else {
      v.permanent = false;
    }
    if (v.decision == Decision::kDeny) {
      // Record reports on the next single attempt; Check/Peek on this one.
      const uint64_t hits = op == Operation::kRecord ? 1 : g.hits;
      int64_t retry_ms = lockout_left > 0 ? lockout_left
                                          : window.RetryAfterMs(g.state, now_ms,
                                                                hits, p.limit);
      // A deny entry has no end the server knows of: a window is the
      // least a caller should wait.
      if (g.denylisted) retry_ms = std::max(retry_ms, p.WindowMillis());
      v.retry_after = Millis(retry_ms);
    }
    v.reset_after =
        Millis(std::max(window.ResetAfterMs(g.state, now_ms), lockout_left));

    if (op != Operation::kPeek || v.decision == Decision::kDeny) {
      AuditEvent e;
      e.time_ms = now_ms;
      e.client_id = request.client_id;
      e.op = op;
      e.rpc = request.rpc;
      e.policy = p.name;
      e.key = targets[i].stored_values;
      e.decision = v.decision;
      e.shadow = v.shadow;
      e.shadow_decision = v.shadow_decision;
      e.hits = targets[i].hits;
      e.count = v.count;
      e.limit = v.limit;
      e.window_ms = p.WindowMillis();
      e.ceiling_hit = v.ceiling_hit;
      e.locked_until_ms = lockout_left > 0 ? locked_until : 0;
      e.permanent = v.permanent;
      e.reason = v.reason;
      e.network = v.network;
      e.deny_reason = v.deny_reason;
      e.context = request.context;
      e.operator_reason = request.operator_reason;
      if (changed) overlay.Described(g.key, audit.size());
      plan.event_of[i] = audit.size();
      audit.push_back(std::move(e));
    }
    response.verdicts.push_back(std::move(v));
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> Limiter::AuditRefusal(Operation op,
                                               const Request& request,
                                               absl::string_view reason) {
  WriteSet writes;
  writes.audit.push_back(RefusalEvent(op, request, reason));
  GH_RETURN_IF_ERROR(store_->Commit(writes));
  return writes.audit[0].sequence;
}

AuditEvent Limiter::RefusalEvent(Operation op, const Request& request,
                                 absl::string_view reason) const {
  AuditEvent e;
  e.time_ms = absl::ToUnixMillis(clock_->Now());
  e.client_id = request.client_id;
  e.op = op;
  e.rpc = request.rpc;
  // Whatever the caller sent is untrusted: keep the policy name only when
  // it is one we know.
  if (!request.subjects.empty() &&
      policies()->Find(request.subjects[0].policy) != nullptr) {
    e.policy = request.subjects[0].policy;
  }
  e.decision = Decision::kDeny;
  if (ValidateContext(request.context).ok()) e.context = request.context;
  e.refusal = std::string(reason);
  e.refused_calls = 1;
  e.first_refused_ms = e.time_ms;
  e.last_refused_ms = e.time_ms;
  return e;
}

}  // namespace gatehouse
