#ifndef GATEHOUSE_SERVICE_STORAGE_GROUP_COMMIT_WRITER_H_
#define GATEHOUSE_SERVICE_STORAGE_GROUP_COMMIT_WRITER_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "service/core/counter_store.h"
#include "service/storage/dirty_counters.h"
#include "service/storage/redo_record.h"
#include "service/storage/store_db.h"

namespace rocksdb {
class WriteBatch;
}  // namespace rocksdb

namespace gatehouse {

// The one path by which a RocksDB store's commits reach the DB. Each commit
// is one atomic WriteBatch of counter changes, audit events (audit_storage_
// codec.h, under SequenceKey()) and changes to the lockout index
// (WriteSet::lockouts, applied in order to both of an entry's keys,
// store_layout.h). Counter puts and deletes are not written to the counters
// family: they go into one redo record per write (redo_record.h), and once
// the write succeeded into DirtyCounters, from which reads are answered
// until a checkpoint (counter_checkpointer.h) moves them into the counters
// family. So a group of commits costs one insert into the redo family's
// memtable, however many keys it changes.
//
// Commits carrying audit events are group-committed, as in LevelDB's
// DBImpl::Write: they queue up, and one thread at a time (the leader: the
// caller that found no one leading, or the writer thread it hands over to)
// writes the queued ones (up to kMaxGroupCommits) as one WriteBatch, with
// one write and one fsync for all, assigning their sequences in queue
// order, and then runs each commit's completion. Nobody else waits for a
// write but Commit()'s callers, for their own. Commits are written in the
// order they queued; a commit decided on the states of earlier ones not
// yet written (WriteSet::after, CommitInOrder) is written only if they
// were, so a counter cache in front may show queued states. Sequences stay
// gap-free: a group is written entirely or not at all, and the head
// (StoreDb::SetHead) moves only once it is. A commit's puts are stamped with
// its events' sequences (StampAuditSequences) once those are assigned, before
// the puts are encoded. Commits without events are written on their own, beside
// the groups.
//
// Thread-safe. Does not own the StoreDb or the DirtyCounters, which must
// outlive it.
class GroupCommitWriter {
 public:
  // `redo_sequence`: the last redo record's sequence in `db` (none is
  // above it; CounterCheckpointer::Replay).
  GroupCommitWriter(StoreDb* db, DirtyCounters* dirty, uint64_t redo_sequence);
  // Stops the writer thread once it has written what was handed to it.
  ~GroupCommitWriter();
  GroupCommitWriter(const GroupCommitWriter&) = delete;
  GroupCommitWriter& operator=(const GroupCommitWriter&) = delete;

  // CounterStore::Commit: writes `writes`, sets its events' sequence
  // numbers and stamps its puts (WriteSet::put_events); on failure
  // (UNAVAILABLE; INVALID_ARGUMENT for a lockout change whose policy name
  // is empty or longer than kMaxIndexedPolicyBytes) nothing was written,
  // the events' sequences are 0 and the puts' last_audit_sequence are as
  // they came. Records the outcome of a write in StoreDb::writable().
  absl::Status Commit(WriteSet& writes);
  // Commit() that does not wait for the write: `done` gets the status on
  // the thread that writes the commit's group. A commit queued while no
  // group is being written is written by this thread (with --sync_writes,
  // by the writer thread: no caller's thread waits for an fsync), which
  // then hands what queued meanwhile to the writer thread; one queued while
  // a group is written returns at once. Commit() is this, waited for.
  void CommitAsync(WriteSet& writes, CounterStore::CommitDone done);
  // CounterStore::CommitInOrder: CommitAsync() that runs `queued` on this
  // thread once the commit has its place in the queue (before it is
  // written), and `done` only after `queued` returned. A commit whose
  // WriteSet::after holds a failed outcome when its group is formed fails
  // with UNAVAILABLE, unwritten; every commit's WriteSet::outcome, when
  // set, is set before a later group is formed. A commit with neither
  // events nor `after` is written at once, before `queued` runs.
  void CommitInOrder(WriteSet& writes, CounterStore::Queued queued,
                     CounterStore::CommitDone done);

  // Groups of commits carrying audit events written so far, and the
  // commits written in them: their ratio is the mean group size.
  uint64_t groups_written() const {
    return groups_written_.load(std::memory_order_relaxed);
  }
  uint64_t grouped_commits() const {
    return grouped_commits_.load(std::memory_order_relaxed);
  }
  // Commits failed unwritten because one of their WriteSet::after failed.
  uint64_t dependent_failures() const {
    return dependent_failures_.load(std::memory_order_relaxed);
  }

  // Starts a checkpoint: DirtyCounters::BeginCheckpoint, at a point where
  // every redo record written so far, and no other, is in the generation
  // it seals. Returns the last of those records' sequence.
  uint64_t BeginCheckpoint();

  // Holds off the commits that carry audit events while it lives (or until
  // Release()): waits for a group being written, and no group starts, so
  // the audit log's bounds are the holder's to move. Commits without events
  // go on. For retention.
  class Pause {
   public:
    explicit Pause(GroupCommitWriter* writer)
        : commit_(&writer->commit_mu_), write_(&writer->write_mu_) {}
    Pause(const Pause&) = delete;
    Pause& operator=(const Pause&) = delete;
    // Lets groups be written again; at most once.
    void Release() {
      write_.Release();
      commit_.Release();
    }

   private:
    // Declared in the order they are taken; destroyed in reverse.
    absl::ReleasableMutexLock commit_;
    absl::ReleasableMutexLock write_;
  };

 private:
  // A commit carrying audit events, queued until a leader writes it.
  struct Queued;
  // At most this many commits are written as one group.
  static constexpr size_t kMaxGroupCommits = 128;

  // Adds the counter puts and deletes of `writes` to `redo` and its
  // lockout index changes to `batch`.
  absl::Status AddWrites(const WriteSet& writes, rocksdb::WriteBatch& batch,
                         RedoRecordBuilder& redo) const;
  // Writes `batch`, with `redo` (when not empty) as the next redo record,
  // and once written applies the counter changes of `applied` to dirty_, in
  // order. `what` names the write in an error.
  absl::Status WriteWithRedo(rocksdb::WriteBatch& batch,
                             const RedoRecordBuilder& redo,
                             const std::vector<const WriteSet*>& applied,
                             absl::string_view what);
  // Gives q's events the sequences after `seq` (leaving `seq` at the last
  // one), adds them to `batch` and stamps q's puts.
  absl::Status AddEvents(Queued& q, uint64_t& seq,
                         rocksdb::WriteBatch& batch) const;
  // Undoes AddEvents on q's WriteSet: sequences 0, puts as they came.
  static void Unnumber(Queued& q);
  // The leader's work: writes the queued commits from the front (its own
  // first) as one group and marks them done. Releases commit_mu_ while the
  // batch is written, and holds it again on return.
  // The front group of queue_, removed from the queue and returned with
  // their statuses (each with its `done`).
  std::vector<Queued*> WriteFrontGroup()
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(commit_mu_);
  // Writes the front group and runs its commits' `done`s (with commit_mu_
  // released); true when `until` was among them.
  bool WriteAndAnswer(const Queued* until)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(commit_mu_);
  // Queues `self`. Returns true when no one leads and not `hand_off`:
  // this thread leads then (Lead). When no one leads and `hand_off`, the
  // writer thread is woken to.
  bool Enqueue(Queued* self, bool hand_off)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(commit_mu_);
  // The leader's work for `self`: writes groups until self's is written,
  // then hands what is left to the writer thread.
  void Lead(const Queued* self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(commit_mu_);
  // One of q's parties (its writer; CommitInOrder's caller once `queued`
  // returned) is done with it; the last runs its on_done and deletes it.
  static void Settled(Queued* q);
  // The leader's loop: writes groups until the queue is empty, then stops
  // leading.
  void LeadUntilEmpty() ABSL_EXCLUSIVE_LOCKS_REQUIRED(commit_mu_);
  void WriterLoop();

  StoreDb* const db_;
  DirtyCounters* const dirty_;

  std::atomic<uint64_t> groups_written_{0};
  std::atomic<uint64_t> grouped_commits_{0};
  std::atomic<uint64_t> dependent_failures_{0};

  // Orders commits carrying audit events (and retention) so sequences
  // follow write order.
  absl::Mutex commit_mu_ ABSL_ACQUIRED_BEFORE(write_mu_);
  // Commits waiting to be written, in sequence order; the front one leads.
  std::deque<Queued*> queue_ ABSL_GUARDED_BY(commit_mu_);
  // A thread is writing the queue's groups (or they are handed to the
  // writer thread): a commit queued now is written by it.
  bool leading_ ABSL_GUARDED_BY(commit_mu_) = false;
  // The queue's groups are the writer thread's to write.
  bool handed_off_ ABSL_GUARDED_BY(commit_mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(commit_mu_) = false;
  // Writes what is handed off: with --sync_writes every asynchronous
  // group (so that no caller's thread waits for an fsync), and the queue a
  // synchronous commit leaves behind once its own group is written.
  std::thread writer_;
  // Held by the leader while its group is written (with commit_mu_
  // released, so the next commits can queue up), and by a Pause.
  absl::Mutex write_mu_ ABSL_ACQUIRED_BEFORE(redo_mu_);
  // Held from a redo record's sequence to its changes being in dirty_, and
  // by BeginCheckpoint.
  absl::Mutex redo_mu_;
  uint64_t redo_sequence_ ABSL_GUARDED_BY(redo_mu_);
};

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_STORAGE_GROUP_COMMIT_WRITER_H_
