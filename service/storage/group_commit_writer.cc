#include "service/storage/group_commit_writer.h"

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "service/audit/audit_storage_codec.h"
#include "service/core/status_macros.h"
#include "service/storage/lockout_codec.h"
#include "service/storage/store_layout.h"
#include "service/storage/value_codec.h"

namespace gatehouse {

struct GroupCommitWriter::Queued {
  explicit Queued(WriteSet* w) : writes(w) {}
  WriteSet* const writes;
  // The puts' last_audit_sequence before they were stamped.
  std::vector<uint64_t> unstamped;
  absl::Status status;
  // Run once the commit's group is written (or failed), by the thread that
  // wrote it, or by CommitInOrder's caller when its `queued` returns later.
  CounterStore::CommitDone on_done;
  // Settled() calls until on_done runs: the writer's, and CommitInOrder's
  // caller's once `queued` returned.
  std::atomic<int> parties{1};
};

GroupCommitWriter::GroupCommitWriter(StoreDb* db, DirtyCounters* dirty,
                                     uint64_t redo_sequence)
    : db_(db), dirty_(dirty), redo_sequence_(redo_sequence) {
  writer_ = std::thread([this] { WriterLoop(); });
}

GroupCommitWriter::~GroupCommitWriter() {
  {
    absl::MutexLock lock(&commit_mu_);
    stopping_ = true;
  }
  writer_.join();
}

void GroupCommitWriter::WriterLoop() {
  absl::MutexLock lock(&commit_mu_);
  for (;;) {
    auto woken = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(commit_mu_) {
      return handed_off_ || stopping_;
    };
    commit_mu_.Await(absl::Condition(&woken));
    if (handed_off_) {
      handed_off_ = false;
      LeadUntilEmpty();
      continue;
    }
    return;
  }
}

uint64_t GroupCommitWriter::BeginCheckpoint() {
  absl::MutexLock lock(&redo_mu_);
  dirty_->BeginCheckpoint();
  return redo_sequence_;
}

absl::Status GroupCommitWriter::AddWrites(const WriteSet& writes,
                                          rocksdb::WriteBatch& batch,
                                          RedoRecordBuilder& redo) const {
  // In the order DirtyCounters::Apply takes them.
  for (const std::string& key : writes.deletes) redo.Delete(key);
  for (const auto& [key, state] : writes.puts) {
    redo.Put(key, EncodeCounterState(state));
  }
  for (const LockoutChange& change : writes.lockouts) {
    const LockoutEntry& entry = change.entry;
    if (entry.policy.empty() || entry.policy.size() > kMaxIndexedPolicyBytes) {
      return absl::InvalidArgumentError(absl::StrCat(
          "lockout index change: policy name of ", entry.policy.size(),
          " bytes (1..", kMaxIndexedPolicyBytes, ")"));
    }
    const std::string order =
        LockoutOrderKey(entry.locked_at_ms, entry.storage_key);
    const std::string all = AllLockoutsKey(order);
    const std::string of_policy = PolicyLockoutsKey(entry.policy, order);
    rocksdb::Status s;
    if (change.kind == LockoutChange::Kind::kPut) {
      const std::string value = EncodeLockoutEntry(entry);
      s = batch.Put(db_->lockouts(), all, value);
      if (s.ok()) s = batch.Put(db_->lockouts(), of_policy, value);
    } else {
      s = batch.Delete(db_->lockouts(), all);
      if (s.ok()) s = batch.Delete(db_->lockouts(), of_policy);
    }
    if (!s.ok()) return FromRocks(s, StorageErrorKind::kWrite, "batch lockout");
  }
  return absl::OkStatus();
}

absl::Status GroupCommitWriter::AddEvents(Queued& q, uint64_t& seq,
                                          rocksdb::WriteBatch& batch) const {
  for (AuditEvent& event : q.writes->audit) {
    event.sequence = ++seq;
    GH_RETURN_IF_ERROR(FromRocks(
        batch.Put(db_->audit(), SequenceKey(seq), EncodeAuditEvent(event)),
        StorageErrorKind::kWrite, "batch audit"));
  }
  q.unstamped.clear();
  for (const auto& put : q.writes->puts) {
    q.unstamped.push_back(put.second.last_audit_sequence);
  }
  StampAuditSequences(*q.writes);
  return absl::OkStatus();
}

void GroupCommitWriter::Unnumber(Queued& q) {
  for (AuditEvent& event : q.writes->audit) event.sequence = 0;
  for (size_t i = 0; i < q.unstamped.size() && i < q.writes->puts.size(); ++i) {
    q.writes->puts[i].second.last_audit_sequence = q.unstamped[i];
  }
  q.unstamped.clear();
}

absl::Status GroupCommitWriter::WriteWithRedo(
    rocksdb::WriteBatch& batch, const RedoRecordBuilder& redo,
    const std::vector<const WriteSet*>& applied, absl::string_view what) {
  rocksdb::WriteOptions options;
  options.sync = db_->sync();
  absl::MutexLock lock(&redo_mu_);
  if (!redo.empty()) {
    GH_RETURN_IF_ERROR(FromRocks(
        batch.Put(db_->redo(), SequenceKey(redo_sequence_ + 1), redo.record()),
        StorageErrorKind::kWrite, "batch redo"));
  }
  absl::Status written = db_->Written(db_->db()->Write(options, &batch), what);
  if (!written.ok()) return written;
  if (!redo.empty()) {
    ++redo_sequence_;
    dirty_->Apply(applied);
  }
  return absl::OkStatus();
}

absl::Status GroupCommitWriter::Commit(WriteSet& writes) {
  if (writes.audit.empty()) {
    rocksdb::WriteBatch batch;
    RedoRecordBuilder redo;
    GH_RETURN_IF_ERROR(AddWrites(writes, batch, redo));
    return WriteWithRedo(batch, redo, {&writes}, "commit counters");
  }
  // Queued like an asynchronous commit; when no one leads, this thread
  // writes groups until its own is written.
  absl::Status result;
  absl::Notification written;
  auto* self = new Queued(&writes);
  self->on_done = [&result, &written](absl::Status status) {
    result = std::move(status);
    written.Notify();
  };
  {
    absl::MutexLock lock(&commit_mu_);
    if (Enqueue(self, /*hand_off=*/false)) Lead(self);
  }
  written.WaitForNotification();
  return result;
}

void GroupCommitWriter::CommitAsync(WriteSet& writes,
                                    CounterStore::CommitDone done) {
  if (writes.audit.empty() && writes.after.empty()) {
    std::move(done)(Commit(writes));
    return;
  }
  auto* self = new Queued(&writes);
  self->on_done = std::move(done);
  absl::MutexLock lock(&commit_mu_);
  // With --sync_writes an fsync would hold this (gRPC) thread.
  if (Enqueue(self, /*hand_off=*/db_->sync())) Lead(self);
}

void GroupCommitWriter::CommitInOrder(WriteSet& writes,
                                      CounterStore::Queued queued,
                                      CounterStore::CommitDone done) {
  if (writes.audit.empty() && writes.after.empty()) {
    absl::Status committed = Commit(writes);
    if (writes.outcome != nullptr) writes.outcome->Set(committed.ok());
    std::move(queued)();
    std::move(done)(std::move(committed));
    return;
  }
  auto* self = new Queued(&writes);
  self->on_done = std::move(done);
  self->parties.store(2, std::memory_order_relaxed);
  bool lead = false;
  {
    absl::MutexLock lock(&commit_mu_);
    lead = Enqueue(self, /*hand_off=*/db_->sync());
  }
  // Outside commit_mu_: `queued` may start commits of its own (the
  // Limiter's next decisions on these keys), which queue behind this one
  // and, when this thread leads, go into its group.
  std::move(queued)();
  // When this thread leads, self is not written yet (no other thread
  // writes the queue now): it outlives this call.
  Settled(self);
  if (!lead) return;
  absl::MutexLock lock(&commit_mu_);
  Lead(self);
}

void GroupCommitWriter::Settled(Queued* q) {
  if (q->parties.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  CounterStore::CommitDone on_done = std::move(q->on_done);
  absl::Status status = std::move(q->status);
  delete q;
  std::move(on_done)(std::move(status));
}

bool GroupCommitWriter::Enqueue(Queued* self, bool hand_off) {
  queue_.push_back(self);
  if (leading_) return false;
  leading_ = true;
  if (!hand_off) return true;
  handed_off_ = true;
  return false;
}

void GroupCommitWriter::Lead(const Queued* self) {
  while (!WriteAndAnswer(self)) {
  }
  if (queue_.empty()) {
    leading_ = false;
  } else {
    handed_off_ = true;
  }
}

void GroupCommitWriter::LeadUntilEmpty() {
  while (!queue_.empty()) WriteAndAnswer(nullptr);
  leading_ = false;
}

bool GroupCommitWriter::WriteAndAnswer(const Queued* until) {
  std::vector<Queued*> group = WriteFrontGroup();
  commit_mu_.Unlock();
  bool answered = false;
  for (Queued* q : group) {
    if (q == until) answered = true;
    Settled(q);
  }
  commit_mu_.Lock();
  return answered;
}

std::vector<GroupCommitWriter::Queued*> GroupCommitWriter::WriteFrontGroup() {
  std::vector<Queued*> group;
  rocksdb::WriteBatch batch;
  RedoRecordBuilder redo;
  const uint64_t head = db_->HeadSequence();
  uint64_t seq = head;
  for (Queued* q : queue_) {
    if (group.size() == kMaxGroupCommits) break;
    group.push_back(q);
    // Decided on states of a commit that failed (in an earlier group, or
    // alone earlier in this one): not written.
    if (AnyFailed(q->writes->after)) {
      q->status = absl::UnavailableError(
          "commit not written: a commit whose counter states it was decided "
          "on failed");
      if (q->writes->outcome != nullptr) q->writes->outcome->Set(false);
      dependent_failures_.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    // A commit that cannot be encoded fails alone. Its puts are encoded
    // once stamped with its events' sequences.
    batch.SetSavePoint();
    const size_t redo_mark = redo.Mark();
    const uint64_t first = seq;
    absl::Status added = AddEvents(*q, seq, batch);
    if (added.ok()) added = AddWrites(*q->writes, batch, redo);
    if (!added.ok()) {
      batch.RollbackToSavePoint().PermitUncheckedError();
      redo.RollbackTo(redo_mark);
      Unnumber(*q);
      seq = first;
      q->status = added;
      if (q->writes->outcome != nullptr) q->writes->outcome->Set(false);
    } else {
      batch.PopSavePoint().PermitUncheckedError();
    }
  }
  absl::Status written = absl::OkStatus();
  if (seq > head || !redo.empty() || batch.Count() > 0) {
    // The head is not written: on opening it is the last event's key (or
    // the head that retention stored before deleting up to it).
    // Others queue up behind while the group is written; a Pause waits on
    // write_mu_ for the write to finish.
    std::vector<const WriteSet*> applied;
    for (const Queued* q : group) {
      if (q->status.ok()) applied.push_back(q->writes);
    }
    commit_mu_.Unlock();
    {
      absl::MutexLock write(&write_mu_);
      written =
          WriteWithRedo(batch, redo, applied, "commit counters and audit");
    }
    commit_mu_.Lock();
    if (written.ok()) {
      db_->SetHead(seq);
      groups_written_.fetch_add(1, std::memory_order_relaxed);
      grouped_commits_.fetch_add(applied.size(), std::memory_order_relaxed);
    }
  }
  // Members are released only now: until done, each waits, so its
  // WriteSet stays valid.
  for (Queued* q : group) {
    if (q->status.ok()) {  // Not failed alone above.
      if (!written.ok()) Unnumber(*q);
      q->status = written;
      // Before the next group is formed: its commits check it.
      if (q->writes->outcome != nullptr) q->writes->outcome->Set(written.ok());
    }
  }
  queue_.erase(queue_.begin(), queue_.begin() + group.size());
  return group;
}

}  // namespace gatehouse
