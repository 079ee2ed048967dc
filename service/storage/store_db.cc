#include "service/storage/store_db.h"

#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/table.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "service/audit/audit_storage_codec.h"
#include "service/core/status_macros.h"
#include "service/storage/expiry_compaction_filter.h"
#include "service/storage/lockout_compaction_filter.h"
#include "service/storage/rocksdb_logger.h"
#include "service/storage/store_layout.h"

namespace gatehouse {
namespace {

rocksdb::BlockBasedTableOptions TableOptions(
    const std::shared_ptr<rocksdb::Cache>& cache) {
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = cache;
  table.cache_index_and_filter_blocks = true;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  // Partitioned bloom filters and a two-level index: a lookup loads only the
  // small partitions it needs into the block cache. With one full filter
  // and index block per SST file, those blocks grow with the file (MiBs at
  // millions of keys), outgrow a cache shard, and were read from the file
  // and checksummed again on every miss: a botnet of new keys spent 65% of
  // the server's CPU in XXH3 and pread copies (bench/RESULTS.md).
  table.index_type =
      rocksdb::BlockBasedTableOptions::IndexType::kTwoLevelIndexSearch;
  table.partition_filters = true;
  table.cache_index_and_filter_blocks_with_high_priority = true;
  table.pin_top_level_index_and_filter = true;
  table.pin_l0_filter_and_index_blocks_in_cache = true;
  return table;
}

}  // namespace

absl::Status FromRocks(const rocksdb::Status& s, StorageErrorKind kind,
                       absl::string_view what) {
  if (s.ok()) return absl::OkStatus();
  return StorageError(kind, absl::StrCat(what, ": ", s.ToString()));
}

absl::StatusOr<std::unique_ptr<StoreDb>> StoreDb::Open(
    const std::string& dir, const Clock* clock,
    const RocksDbStoreOptions& options) {
  auto filter = std::make_unique<ExpiryCompactionFilter>(clock);
  auto lockout_filter = std::make_unique<LockoutCompactionFilter>(clock);
  rocksdb::DBOptions db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.max_background_jobs = 2;
  // RocksDB's log goes to ours, not to a LOG file on the data volume (see
  // JsonRocksDbLogger: a full disk would otherwise abort the process).
  db_options.info_log = std::make_shared<JsonRocksDbLogger>();
  std::shared_ptr<rocksdb::Cache> cache =
      rocksdb::NewLRUCache(options.block_cache_bytes);

  rocksdb::ColumnFamilyOptions counters;
  counters.compaction_filter = filter.get();
  counters.write_buffer_size = options.write_buffer_bytes;
  if (options.periodic_compaction_seconds > 0) {
    counters.periodic_compaction_seconds = options.periodic_compaction_seconds;
  }
  // A bloom filter over each memtable's whole keys: a read of a key the
  // memtable does not hold (most reads that miss the counter cache: a
  // first sign-in's failures, a new IP) skips the skip-list search.
  counters.memtable_whole_key_filtering = true;
  counters.memtable_prefix_bloom_size_ratio = 0.05;
  counters.compression = rocksdb::kLZ4Compression;
  counters.bottommost_compression = rocksdb::kZSTD;
  counters.table_factory.reset(
      rocksdb::NewBlockBasedTableFactory(TableOptions(cache)));

  // The audit log is append-only and read in order: no filter, no bloom.
  rocksdb::ColumnFamilyOptions audit;
  audit.write_buffer_size = options.write_buffer_bytes;
  audit.compression = rocksdb::kLZ4Compression;
  audit.bottommost_compression = rocksdb::kZSTD;
  rocksdb::BlockBasedTableOptions audit_table;
  audit_table.block_cache = cache;
  audit.table_factory.reset(rocksdb::NewBlockBasedTableFactory(audit_table));

  // The lockout index is small (one entry per subject locked out now, two
  // keys each) and read by seeking: no bloom filter; a small memtable so
  // ended entries reach a compaction, where the filter drops them.
  rocksdb::ColumnFamilyOptions lockouts;
  lockouts.compaction_filter = lockout_filter.get();
  lockouts.write_buffer_size =
      std::min<size_t>(options.write_buffer_bytes, 4 << 20);
  if (options.periodic_compaction_seconds > 0) {
    lockouts.periodic_compaction_seconds = options.periodic_compaction_seconds;
  }
  lockouts.compression = rocksdb::kLZ4Compression;
  rocksdb::BlockBasedTableOptions lockouts_table;
  lockouts_table.block_cache = cache;
  lockouts.table_factory.reset(
      rocksdb::NewBlockBasedTableFactory(lockouts_table));

  // The redo log of counter changes is appended to, read only on opening
  // and deleted by ranges as checkpoints move its changes into the
  // counters: no filter, no bloom.
  // A checkpoint deletes its records within seconds, so a small memtable
  // holds them; flushing drops the deleted ones.
  rocksdb::ColumnFamilyOptions redo;
  redo.write_buffer_size =
      std::min<size_t>(options.write_buffer_bytes, 8 << 20);
  redo.compression = rocksdb::kLZ4Compression;
  rocksdb::BlockBasedTableOptions redo_table;
  redo_table.block_cache = cache;
  redo.table_factory.reset(rocksdb::NewBlockBasedTableFactory(redo_table));

  // Data directories from before the lockout index or the redo log get
  // their families created empty (create_missing_column_families).
  std::vector<rocksdb::ColumnFamilyDescriptor> families = {
      {rocksdb::kDefaultColumnFamilyName, counters},
      {kAuditFamily, audit},
      {kLockoutsFamily, lockouts},
      {kRedoFamily, redo}};
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s =
      rocksdb::DB::Open(db_options, dir, families, &handles, &raw);
  if (!s.ok()) {
    return absl::UnavailableError(
        absl::StrCat("cannot open RocksDB in ", dir, ": ", s.ToString()));
  }
  std::unique_ptr<StoreDb> db(
      new StoreDb(std::move(filter), std::move(lockout_filter),
                  std::unique_ptr<rocksdb::DB>(raw), std::move(handles),
                  options.sync, clock));
  GH_RETURN_IF_ERROR(db->LoadAuditBounds());
  return db;
}

StoreDb::StoreDb(std::unique_ptr<ExpiryCompactionFilter> filter,
                 std::unique_ptr<LockoutCompactionFilter> lockout_filter,
                 std::unique_ptr<rocksdb::DB> db,
                 std::vector<rocksdb::ColumnFamilyHandle*> handles, bool sync,
                 const Clock* clock)
    : filter_(std::move(filter)),
      lockout_filter_(std::move(lockout_filter)),
      db_(std::move(db)),
      counters_(handles[0]),
      audit_(handles[1]),
      lockouts_(handles[2]),
      redo_(handles[3]),
      handles_(std::move(handles)),
      sync_(sync),
      clock_(clock) {}

StoreDb::~StoreDb() {
  if (db_) {
    for (rocksdb::ColumnFamilyHandle* h : handles_) {
      db_->DestroyColumnFamilyHandle(h).PermitUncheckedError();
    }
    db_->Close().PermitUncheckedError();
    db_.reset();
  }
}

absl::Status StoreDb::LoadAuditBounds() {
  uint64_t head = 0;
  std::string value;
  rocksdb::Status s =
      db_->Get(rocksdb::ReadOptions(), counters_, kAuditHeadKey, &value);
  if (s.ok()) {
    head = ParseSequenceKey(value);
  } else if (!s.IsNotFound()) {
    return FromRocks(s, StorageErrorKind::kRead, "read audit head");
  }
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), audit_));
  it->SeekToLast();
  if (it->Valid()) head = std::max(head, ParseSequenceKey(ToView(it->key())));
  it->SeekToFirst();
  uint64_t oldest =
      it->Valid() ? ParseSequenceKey(ToView(it->key())) : head + 1;
  if (it->Valid()) {
    // A summary of folded refusals stands for the sequences before its own.
    GH_ASSIGN_OR_RETURN(AuditEvent first,
                        DecodeAuditEvent(ToView(it->value())));
    if (first.first_sequence != 0 && first.first_sequence < oldest) {
      oldest = first.first_sequence;
    }
  }
  if (!it->status().ok())
    return FromRocks(it->status(), StorageErrorKind::kRead, "scan audit log");
  absl::MutexLock lock(&bounds_mu_);
  head_ = head;
  oldest_ = oldest;
  return absl::OkStatus();
}

absl::Status StoreDb::Written(const rocksdb::Status& s,
                              absl::string_view what) {
  writable_.store(s.ok(), std::memory_order_relaxed);
  return FromRocks(s, StorageErrorKind::kWrite, what);
}

uint64_t StoreDb::HeadSequence() const {
  absl::MutexLock lock(&bounds_mu_);
  return head_;
}

uint64_t StoreDb::OldestSequence() const {
  absl::MutexLock lock(&bounds_mu_);
  return oldest_;
}

StoreDb::AuditBounds StoreDb::Bounds() const {
  absl::MutexLock lock(&bounds_mu_);
  return AuditBounds{head_, oldest_};
}

void StoreDb::SetHead(uint64_t head) {
  absl::MutexLock lock(&bounds_mu_);
  head_ = head;
}

void StoreDb::SetOldest(uint64_t oldest) {
  absl::MutexLock lock(&bounds_mu_);
  oldest_ = oldest;
}

bool StoreDb::AwaitHeadAfter(uint64_t after, absl::Duration timeout) const {
  absl::MutexLock lock(&bounds_mu_);
  auto beyond = [this, after]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(bounds_mu_) {
    return head_ > after;
  };
  return bounds_mu_.AwaitWithTimeout(absl::Condition(&beyond), timeout);
}

absl::Status StoreDb::CompactAudit(uint64_t from, uint64_t to,
                                   absl::string_view what) {
  const std::string begin = SequenceKey(from);
  const std::string end = SequenceKey(to);
  const rocksdb::Slice begin_slice(begin);
  const rocksdb::Slice end_slice(end);
  rocksdb::CompactRangeOptions compact;
  compact.bottommost_level_compaction =
      rocksdb::BottommostLevelCompaction::kForceOptimized;
  return FromRocks(db_->CompactRange(compact, audit_, &begin_slice, &end_slice),
                   StorageErrorKind::kWrite, what);
}

}  // namespace gatehouse
