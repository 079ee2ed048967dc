#ifndef GATEHOUSE_SERVICE_STORAGE_ROCKSDB_COUNTER_STORE_H_
#define GATEHOUSE_SERVICE_STORAGE_ROCKSDB_COUNTER_STORE_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "service/clock/clock.h"
#include "service/core/audit_log.h"
#include "service/core/counter_store.h"
#include "service/core/store_maintenance.h"

namespace rocksdb {
class ColumnFamilyHandle;
class DB;
class Status;
class WriteBatch;
}  // namespace rocksdb

namespace gatehouse {

class ExpiryCompactionFilter;

struct RocksDbStoreOptions {
  // fsync the write-ahead log on every commit (survives power loss); the
  // default survives a process crash.
  bool sync = false;
  // Block cache size: bounds read memory whatever the number of keys.
  size_t block_cache_bytes = 64 << 20;
  // Memtable size per write buffer.
  size_t write_buffer_bytes = 32 << 20;
  // Recompact every file at least this often so expired counters of keys
  // that stopped being seen are dropped; 0 leaves RocksDB's default.
  uint64_t periodic_compaction_seconds = 24 * 3600;
};

// CounterStore and AuditLog on RocksDB: one DB in a directory. Counter
// states live in the default column family, encoded by value_codec.h, and
// expired ones are dropped at compaction by ExpiryCompactionFilter. Audit
// events live in the "audit" column family under their big-endian sequence
// number and are written in the same WriteBatch as the counters; commits
// carrying events are group-committed (one write, and one fsync, for all
// waiting) so sequence numbers are assigned in write order without gaps. On
// opening, the head sequence is the last event's; retention, which may
// delete every event, stores the head in the default family as it deletes.
//
// Thread-safe. Owns the DB; the clock must outlive the store.
class RocksDbCounterStore final : public CounterStore,
                                  public AuditLog,
                                  public StoreMaintenance {
 public:
  // Opens (creating if needed) the DB in `dir`. UNAVAILABLE naming the
  // directory and RocksDB's reason on failure (e.g. another process holds
  // its lock).
  static absl::StatusOr<std::unique_ptr<RocksDbCounterStore>> Open(
      const std::string& dir, const Clock* clock,
      const RocksDbStoreOptions& options = {});

  ~RocksDbCounterStore() override;
  RocksDbCounterStore(const RocksDbCounterStore&) = delete;
  RocksDbCounterStore& operator=(const RocksDbCounterStore&) = delete;

  absl::StatusOr<std::optional<CounterState>> Read(
      absl::string_view key) override;
  absl::Status Commit(WriteSet& writes) override;

  uint64_t HeadSequence() const override;
  uint64_t OldestSequence() const override;
  absl::StatusOr<std::vector<AuditEvent>> Read(uint64_t from,
                                               size_t max) const override;
  bool AwaitAfter(uint64_t after, absl::Duration timeout) const override;
  absl::StatusOr<uint64_t> FirstAtOrAfter(absl::Time t) const override;

  // StoreMaintenance. Retention also compacts the deleted range to reclaim
  // the space.
  //
  // Over the size budget, refusal events give way first, so that refused
  // calls (which anyone who reaches the port can make) never evict a
  // decision: runs of consecutive refusal events, oldest first, are folded
  // into one summary each (AuditEvent::first_sequence; the sum of their
  // refused calls and their first/last times) until the log fits or none is
  // left; only then are the oldest events deleted. Summaries number at most
  // one more than the decision events between them. Folded events count as
  // deleted.
  absl::StatusOr<uint64_t> ApplyRetention(
      const AuditRetention& retention) override;
  bool writable() const override {
    return writable_.load(std::memory_order_relaxed);
  }
  // DB::Resume, which flushes the memtables and starts a new write-ahead
  // log, proved by a small synced write. Safe alongside commits.
  absl::Status Recover() override;
  uint64_t ApproximateBytes() const override {
    return ApproximateCounterBytes() + ApproximateAuditBytes();
  }
  // RocksDB's estimate.
  uint64_t EstimateNumKeys() const override;

  // Approximate bytes on disk (SST files) of counters and of the audit log.
  uint64_t ApproximateCounterBytes() const;
  uint64_t ApproximateAuditBytes() const;

  // Flushes memtables and compacts the whole key range (drops expired
  // counters now). For operators and tests.
  absl::Status CompactAll();

  // Counter keys actually present (a full scan; for tests and tools).
  absl::StatusOr<uint64_t> CountCounterKeys() const;

 private:
  RocksDbCounterStore(std::unique_ptr<ExpiryCompactionFilter> filter,
                      std::unique_ptr<rocksdb::DB> db,
                      std::vector<rocksdb::ColumnFamilyHandle*> handles,
                      bool sync, const Clock* clock);
  struct Writer;
  // At most this many commits are written as one group.
  static constexpr size_t kMaxGroupCommits = 128;

  absl::Status LoadAuditBounds();
  // Sets writable_ from the outcome of a write and converts it.
  absl::Status Written(const rocksdb::Status& s, absl::string_view what);
  // Adds the counter puts and deletes of `writes` to `batch`.
  absl::Status AddCounters(const WriteSet& writes, rocksdb::WriteBatch& batch);
  uint64_t ApproximateBytes(rocksdb::ColumnFamilyHandle* cf) const;
  // Bytes on disk (flushed events) of sequences `from` to `head`, and of
  // the retained ones.
  // Compacts the audit events [from, to) now, to reclaim what was deleted
  // or folded there.
  absl::Status CompactAudit(uint64_t from, uint64_t to, absl::string_view what);
  absl::StatusOr<uint64_t> BytesFrom(uint64_t from, uint64_t head) const;
  absl::StatusOr<uint64_t> RetainedBytes() const;
  // One pass of the refusal folding described at ApplyRetention: folds runs
  // of refusal events from the fold cursor on until about `target_bytes`
  // (encoded) are saved or the head is reached, and compacts their range.
  // Returns the encoded bytes saved (0: nothing left to fold) and adds the
  // number of events folded away to *removed.
  absl::StatusOr<uint64_t> FoldRefusals(uint64_t target_bytes,
                                        uint64_t* removed)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(retention_mu_);

  // Constant after construction. The filter must outlive the DB, so it is
  // declared first.
  std::unique_ptr<ExpiryCompactionFilter> filter_;
  std::unique_ptr<rocksdb::DB> db_;
  rocksdb::ColumnFamilyHandle* counters_ = nullptr;  // Owned by handles_.
  rocksdb::ColumnFamilyHandle* audit_ = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  const bool sync_;
  const Clock* const clock_;

  // See writable().
  std::atomic<bool> writable_{true};
  // Orders commits carrying audit events (and retention) so sequences
  // follow write order; see Commit() for the group commit.
  absl::Mutex commit_mu_ ABSL_ACQUIRED_BEFORE(write_mu_);
  // Commits waiting to be written, in sequence order; the front one leads.
  std::deque<Writer*> writers_ ABSL_GUARDED_BY(commit_mu_);
  // Held by the leader while its group is written (with commit_mu_
  // released, so the next commits can queue up), and by retention.
  absl::Mutex write_mu_;

  // One retention run at a time.
  absl::Mutex retention_mu_ ABSL_ACQUIRED_BEFORE(commit_mu_);
  // Every refusal event before this sequence is folded (the event just
  // before it may be a summary that the next run extends); 0 at opening.
  uint64_t fold_cursor_ ABSL_GUARDED_BY(retention_mu_) = 0;

  mutable absl::Mutex bounds_mu_;
  uint64_t head_ ABSL_GUARDED_BY(bounds_mu_) = 0;
  uint64_t oldest_ ABSL_GUARDED_BY(bounds_mu_) = 1;
};

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_STORAGE_ROCKSDB_COUNTER_STORE_H_
