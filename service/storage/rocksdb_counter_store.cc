#include "service/storage/rocksdb_counter_store.h"

#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include "absl/strings/str_cat.h"
#include "service/core/subject_key.h"
#include "service/storage/expiry_compaction_filter.h"
#include "service/storage/value_codec.h"

namespace gatehouse {
namespace {

absl::Status FromRocks(const rocksdb::Status& s, absl::string_view what) {
  if (s.ok()) return absl::OkStatus();
  return absl::UnavailableError(absl::StrCat(what, ": ", s.ToString()));
}

rocksdb::Slice ToSlice(absl::string_view s) {
  return rocksdb::Slice(s.data(), s.size());
}

}  // namespace

absl::StatusOr<std::unique_ptr<RocksDbCounterStore>> RocksDbCounterStore::Open(
    const std::string& dir, const Clock* clock,
    const RocksDbStoreOptions& options) {
  auto filter = std::make_unique<ExpiryCompactionFilter>(clock);
  rocksdb::Options db_options;
  db_options.create_if_missing = true;
  db_options.compaction_filter = filter.get();
  db_options.write_buffer_size = options.write_buffer_bytes;
  if (options.periodic_compaction_seconds > 0) {
    db_options.periodic_compaction_seconds =
        options.periodic_compaction_seconds;
  }
  db_options.compression = rocksdb::kLZ4Compression;
  db_options.bottommost_compression = rocksdb::kZSTD;
  db_options.max_background_jobs = 2;
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  table.cache_index_and_filter_blocks = true;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  db_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));

  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(db_options, dir, &raw);
  if (!s.ok()) {
    return absl::UnavailableError(
        absl::StrCat("cannot open RocksDB in ", dir, ": ", s.ToString()));
  }
  return std::unique_ptr<RocksDbCounterStore>(new RocksDbCounterStore(
      std::move(filter), std::unique_ptr<rocksdb::DB>(raw), options.sync));
}

RocksDbCounterStore::RocksDbCounterStore(
    std::unique_ptr<ExpiryCompactionFilter> filter,
    std::unique_ptr<rocksdb::DB> db, bool sync)
    : filter_(std::move(filter)), db_(std::move(db)), sync_(sync) {}

RocksDbCounterStore::~RocksDbCounterStore() {
  if (db_) {
    db_->Close().PermitUncheckedError();
    db_.reset();
  }
}

absl::StatusOr<std::optional<CounterState>> RocksDbCounterStore::Read(
    absl::string_view key) {
  rocksdb::PinnableSlice value;
  rocksdb::Status s = db_->Get(
      rocksdb::ReadOptions(), db_->DefaultColumnFamily(), ToSlice(key), &value);
  if (s.IsNotFound()) return std::nullopt;
  if (!s.ok()) return FromRocks(s, "read counter");
  absl::StatusOr<CounterState> state =
      DecodeCounterState(absl::string_view(value.data(), value.size()));
  if (!state.ok()) return state.status();
  return std::optional<CounterState>(std::move(*state));
}

absl::Status RocksDbCounterStore::Commit(const WriteSet& writes) {
  rocksdb::WriteBatch batch;
  for (const std::string& key : writes.deletes) {
    rocksdb::Status s = batch.Delete(ToSlice(key));
    if (!s.ok()) return FromRocks(s, "batch delete");
  }
  for (const auto& [key, state] : writes.puts) {
    rocksdb::Status s = batch.Put(ToSlice(key), EncodeCounterState(state));
    if (!s.ok()) return FromRocks(s, "batch put");
  }
  rocksdb::WriteOptions options;
  options.sync = sync_;
  return FromRocks(db_->Write(options, &batch), "commit counters");
}

absl::Status RocksDbCounterStore::CompactAll() {
  absl::Status flushed =
      FromRocks(db_->Flush(rocksdb::FlushOptions()), "flush");
  if (!flushed.ok()) return flushed;
  rocksdb::CompactRangeOptions options;
  options.bottommost_level_compaction =
      rocksdb::BottommostLevelCompaction::kForce;
  return FromRocks(db_->CompactRange(options, nullptr, nullptr), "compact");
}

uint64_t RocksDbCounterStore::EstimateNumKeys() const {
  uint64_t keys = 0;
  db_->GetIntProperty("rocksdb.estimate-num-keys", &keys);
  return keys;
}

absl::StatusOr<uint64_t> RocksDbCounterStore::CountCounterKeys() const {
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions()));
  uint64_t n = 0;
  const char prefix[1] = {kCounterKeyPrefix};
  for (it->Seek(rocksdb::Slice(prefix, 1));
       it->Valid() && it->key().size() > 0 && it->key()[0] == kCounterKeyPrefix;
       it->Next()) {
    ++n;
  }
  if (!it->status().ok()) return FromRocks(it->status(), "scan");
  return n;
}

}  // namespace gatehouse
