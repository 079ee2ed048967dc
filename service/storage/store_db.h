#ifndef GATEHOUSE_SERVICE_STORAGE_STORE_DB_H_
#define GATEHOUSE_SERVICE_STORAGE_STORE_DB_H_

#include <rocksdb/slice.h>
#include <rocksdb/status.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "service/clock/clock.h"
#include "service/core/storage_error.h"

namespace rocksdb {
class ColumnFamilyHandle;
class DB;
}  // namespace rocksdb

namespace gatehouse {

class ExpiryCompactionFilter;
class LockoutCompactionFilter;

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
  // Counter checkpoints (counter_checkpointer.h): at least this often while
  // any key is dirty (zero: only when asked and on closing), and as soon as
  // this many keys are.
  absl::Duration checkpoint_interval = absl::Seconds(5);
  size_t checkpoint_max_dirty_keys = 1 << 17;
};

// OK for an OK `s`; otherwise a StorageError of `kind` saying what failed
// and RocksDB's reason.
absl::Status FromRocks(const rocksdb::Status& s, StorageErrorKind kind,
                       absl::string_view what);

inline rocksdb::Slice ToSlice(absl::string_view s) {
  return rocksdb::Slice(s.data(), s.size());
}
inline absl::string_view ToView(const rocksdb::Slice& s) {
  return absl::string_view(s.data(), s.size());
}

// The RocksDB database under a RocksDbStore, shared by its parts (counter
// store, group-commit writer, audit log, maintenance): the DB in one
// directory with its four column families (store_layout.h), the durability
// of commits, whether writes go through, and the audit log's bounds.
//
// Thread-safe. Owns the DB; the clock must outlive it.
class StoreDb {
 public:
  // Opens (creating if needed) the DB in `dir` and loads the audit bounds.
  // UNAVAILABLE naming the directory and RocksDB's reason on failure (e.g.
  // another process holds its lock); DATA_LOSS when the oldest audit event
  // does not decode.
  static absl::StatusOr<std::unique_ptr<StoreDb>> Open(
      const std::string& dir, const Clock* clock,
      const RocksDbStoreOptions& options);

  ~StoreDb();
  StoreDb(const StoreDb&) = delete;
  StoreDb& operator=(const StoreDb&) = delete;

  rocksdb::DB* db() const { return db_.get(); }
  // The default family: counter states and metadata.
  rocksdb::ColumnFamilyHandle* counters() const { return counters_; }
  rocksdb::ColumnFamilyHandle* audit() const { return audit_; }
  // The lockout index.
  rocksdb::ColumnFamilyHandle* lockouts() const { return lockouts_; }
  // Counter changes not checkpointed yet (redo_record.h).
  rocksdb::ColumnFamilyHandle* redo() const { return redo_; }
  const std::vector<rocksdb::ColumnFamilyHandle*>& families() const {
    return handles_;
  }
  // Whether commits fsync the write-ahead log (RocksDbStoreOptions::sync).
  bool sync() const { return sync_; }
  const Clock* clock() const { return clock_; }

  // Whether writes go through: the outcome of the last write passed to
  // Written(). See StoreMaintenance::writable().
  bool writable() const { return writable_.load(std::memory_order_relaxed); }
  // Records the outcome `s` of a write in writable() and converts it (a
  // kWrite failure saying `what`).
  absl::Status Written(const rocksdb::Status& s, absl::string_view what);

  // The audit log's bounds (AuditLog::HeadSequence, OldestSequence).
  uint64_t HeadSequence() const;
  uint64_t OldestSequence() const;
  struct AuditBounds {
    uint64_t head = 0;
    uint64_t oldest = 1;
  };
  // Both, read together.
  AuditBounds Bounds() const;
  // Publishes a head once the events up to it are written. REQUIRES: only
  // the group-commit writer, or retention holding it off.
  void SetHead(uint64_t head);
  // Publishes a new oldest before the events before it are deleted, so
  // readers stop short of them.
  void SetOldest(uint64_t oldest);
  // Blocks until HeadSequence() > `after` or `timeout` passes; returns
  // whether it is.
  bool AwaitHeadAfter(uint64_t after, absl::Duration timeout) const;

  // Compacts the audit events [from, to) now, to reclaim what was deleted
  // or folded there. A kWrite failure saying `what`.
  absl::Status CompactAudit(uint64_t from, uint64_t to, absl::string_view what);

 private:
  StoreDb(std::unique_ptr<ExpiryCompactionFilter> filter,
          std::unique_ptr<LockoutCompactionFilter> lockout_filter,
          std::unique_ptr<rocksdb::DB> db,
          std::vector<rocksdb::ColumnFamilyHandle*> handles, bool sync,
          const Clock* clock);
  absl::Status LoadAuditBounds();

  // Constant after construction. The filters must outlive the DB, so they
  // are declared first.
  std::unique_ptr<ExpiryCompactionFilter> filter_;
  std::unique_ptr<LockoutCompactionFilter> lockout_filter_;
  std::unique_ptr<rocksdb::DB> db_;
  rocksdb::ColumnFamilyHandle* counters_ = nullptr;  // Owned by handles_.
  rocksdb::ColumnFamilyHandle* audit_ = nullptr;
  rocksdb::ColumnFamilyHandle* lockouts_ = nullptr;
  rocksdb::ColumnFamilyHandle* redo_ = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  const bool sync_;
  const Clock* const clock_;

  std::atomic<bool> writable_{true};

  mutable absl::Mutex bounds_mu_;
  uint64_t head_ ABSL_GUARDED_BY(bounds_mu_) = 0;
  uint64_t oldest_ ABSL_GUARDED_BY(bounds_mu_) = 1;
};

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_STORAGE_STORE_DB_H_
