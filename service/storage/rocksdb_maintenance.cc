#include "service/storage/rocksdb_maintenance.h"

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <memory>
#include <string>

#include "service/core/status_macros.h"
#include "service/core/subject_key.h"
#include "service/storage/store_layout.h"

namespace gatehouse {

RocksDbMaintenance::RocksDbMaintenance(StoreDb* db, GroupCommitWriter* writer,
                                       const AuditLog* audit_log,
                                       CounterCheckpointer* checkpointer)
    : db_(db),
      writer_(writer),
      audit_log_(audit_log),
      checkpointer_(checkpointer),
      folder_(db, audit_log) {}

absl::StatusOr<uint64_t> RocksDbMaintenance::ApplyRetention(
    const AuditRetention& retention) {
  // The column family's size counts memtable arena memory and, until
  // compaction, deleted events: counted again, they drained the log a little
  // more on every run. So it only says whether to look closer: flushed (not
  // under the writer's locks, so commits go on), the retained range's size
  // on disk is the real figure.
  absl::MutexLock retention_lock(&retention_mu_);
  const bool over_budget =
      retention.max_bytes > 0 && ApproximateAuditBytes() > retention.max_bytes;
  uint64_t folded = 0;
  if (over_budget) {
    GH_RETURN_IF_ERROR(
        FromRocks(db_->db()->Flush(rocksdb::FlushOptions(), db_->audit()),
                  StorageErrorKind::kWrite, "audit retention flush"));
    // Refusal events give way first. Each pass aims at the excess in
    // encoded bytes, which compress on disk, so it may fall short: measure
    // again and go on while refusal events are left.
    for (int pass = 0; pass < 8; ++pass) {
      GH_ASSIGN_OR_RETURN(const uint64_t bytes, RetainedBytes());
      if (bytes <= retention.max_bytes) break;
      const uint64_t target =
          bytes - static_cast<uint64_t>(0.9 * retention.max_bytes);
      GH_ASSIGN_OR_RETURN(const uint64_t saved, folder_.Fold(target, &folded));
      if (saved == 0) break;
    }
  }
  // No new group starts, and one in flight has been written.
  GroupCommitWriter::Pause pause(writer_);
  const uint64_t oldest = db_->OldestSequence();
  const uint64_t head = db_->HeadSequence();
  uint64_t new_oldest = oldest;
  if (retention.max_age > absl::ZeroDuration()) {
    GH_ASSIGN_OR_RETURN(
        uint64_t first_young,
        audit_log_->FirstAtOrAfter(db_->clock()->Now() - retention.max_age));
    new_oldest = std::max(new_oldest, first_young);
  }
  if (over_budget && head >= oldest) {
    // Keep about 90% of the budget: the first sequence from which the rest
    // of the log fits it. Sizes, not event counts: a summary of folded
    // refusals stands for many sequences in a few bytes.
    const uint64_t target =
        static_cast<uint64_t>(0.9 * static_cast<double>(retention.max_bytes));
    GH_ASSIGN_OR_RETURN(uint64_t bytes, BytesFrom(oldest, head));
    if (bytes > retention.max_bytes) {
      uint64_t lo = oldest, hi = head + 1;
      while (lo < hi) {
        const uint64_t mid = lo + (hi - lo) / 2;
        GH_ASSIGN_OR_RETURN(bytes, BytesFrom(mid, head));
        if (bytes <= target) {
          hi = mid;
        } else {
          lo = mid + 1;
        }
      }
      new_oldest = std::max(new_oldest, lo);
    }
  }
  if (new_oldest <= oldest) return folded;
  // Publish the new bound first so readers stop before the deleted range.
  db_->SetOldest(new_oldest);
  // Commits do not store the head; once the deleted range may reach it,
  // the head key must, in the same atomic write.
  rocksdb::WriteBatch batch;
  rocksdb::Status s = batch.DeleteRange(db_->audit(), SequenceKey(oldest),
                                        SequenceKey(new_oldest));
  if (s.ok()) s = batch.Put(db_->counters(), kAuditHeadKey, SequenceKey(head));
  if (s.ok()) s = db_->db()->Write(rocksdb::WriteOptions(), &batch);
  if (!s.ok()) return FromRocks(s, StorageErrorKind::kWrite, "audit retention");
  pause.Release();
  // Reclaim the space now: keys only grow, so RocksDB would otherwise leave
  // the deleted events' files alone for a long time.
  GH_RETURN_IF_ERROR(
      db_->CompactAudit(oldest, new_oldest, "audit retention compaction"));
  return folded + (new_oldest - oldest);
}

absl::Status RocksDbMaintenance::Recover() {
  if (writable()) return absl::OkStatus();
  // OK when RocksDB holds no background error (the failure was of one
  // write only, or RocksDB recovered by itself); the probe decides.
  rocksdb::Status s = db_->db()->Resume();
  if (!s.ok()) return FromRocks(s, StorageErrorKind::kWrite, "resume writes");
  rocksdb::WriteOptions options;
  options.sync = true;
  return db_->Written(db_->db()->Put(options, db_->counters(), kProbeKey, ""),
                      "write probe after a failure");
}

absl::StatusOr<uint64_t> RocksDbMaintenance::BytesFrom(uint64_t from,
                                                       uint64_t head) const {
  const std::string begin = SequenceKey(from);
  const std::string end = SequenceKey(head + 1);
  const rocksdb::Range range(begin, end);
  uint64_t bytes = 0;
  GH_RETURN_IF_ERROR(
      FromRocks(db_->db()->GetApproximateSizes(db_->audit(), &range, 1, &bytes),
                StorageErrorKind::kRead, "audit retention size"));
  return bytes;
}

absl::StatusOr<uint64_t> RocksDbMaintenance::RetainedBytes() const {
  return BytesFrom(db_->OldestSequence(), db_->HeadSequence());
}

uint64_t RocksDbMaintenance::ApproximateBytes(
    rocksdb::ColumnFamilyHandle* cf) const {
  uint64_t size = 0;
  db_->db()->GetIntProperty(cf, "rocksdb.total-sst-files-size", &size);
  uint64_t mem = 0;
  db_->db()->GetIntProperty(cf, "rocksdb.cur-size-all-mem-tables", &mem);
  return size + mem;
}

uint64_t RocksDbMaintenance::ApproximateCounterBytes() const {
  return ApproximateBytes(db_->counters());
}

uint64_t RocksDbMaintenance::ApproximateAuditBytes() const {
  return ApproximateBytes(db_->audit());
}

uint64_t RocksDbMaintenance::ApproximateLockoutIndexBytes() const {
  return ApproximateBytes(db_->lockouts());
}

uint64_t RocksDbMaintenance::ApproximateRedoBytes() const {
  return ApproximateBytes(db_->redo());
}

absl::Status RocksDbMaintenance::CompactAll() {
  GH_RETURN_IF_ERROR(checkpointer_->Checkpoint());
  GH_RETURN_IF_ERROR(
      FromRocks(db_->db()->Flush(rocksdb::FlushOptions(), db_->families()),
                StorageErrorKind::kWrite, "flush"));
  rocksdb::CompactRangeOptions options;
  options.bottommost_level_compaction =
      rocksdb::BottommostLevelCompaction::kForce;
  for (rocksdb::ColumnFamilyHandle* h : db_->families()) {
    GH_RETURN_IF_ERROR(
        FromRocks(db_->db()->CompactRange(options, h, nullptr, nullptr),
                  StorageErrorKind::kWrite, "compact"));
  }
  return absl::OkStatus();
}

uint64_t RocksDbMaintenance::EstimateNumKeys() const {
  uint64_t keys = 0;
  db_->db()->GetIntProperty(db_->counters(), "rocksdb.estimate-num-keys",
                            &keys);
  return keys;
}

absl::StatusOr<uint64_t> RocksDbMaintenance::CountCounterKeys() const {
  GH_RETURN_IF_ERROR(checkpointer_->Checkpoint());
  std::unique_ptr<rocksdb::Iterator> it(
      db_->db()->NewIterator(rocksdb::ReadOptions(), db_->counters()));
  uint64_t n = 0;
  const char prefix[1] = {kCounterKeyPrefix};
  for (it->Seek(rocksdb::Slice(prefix, 1));
       it->Valid() && it->key().size() > 0 && it->key()[0] == kCounterKeyPrefix;
       it->Next()) {
    ++n;
  }
  if (!it->status().ok())
    return FromRocks(it->status(), StorageErrorKind::kRead, "scan");
  return n;
}

}  // namespace gatehouse
