#include "service/storage/rocksdb_counter_store.h"

#include <rocksdb/db.h>

#include <memory>
#include <string>
#include <utility>

#include "service/core/storage_error.h"
#include "service/storage/lockout_codec.h"
#include "service/storage/store_layout.h"
#include "service/storage/value_codec.h"

namespace gatehouse {

RocksDbCounterStore::RocksDbCounterStore(const StoreDb* db,
                                         GroupCommitWriter* writer,
                                         const DirtyCounters* dirty)
    : db_(db), writer_(writer), dirty_(dirty) {}

absl::StatusOr<std::optional<CounterState>> RocksDbCounterStore::Read(
    absl::string_view key) {
  std::optional<CounterState> dirty;
  if (dirty_->Find(key, &dirty)) return dirty;
  rocksdb::PinnableSlice value;
  rocksdb::Status s = db_->db()->Get(rocksdb::ReadOptions(), db_->counters(),
                                     ToSlice(key), &value);
  if (s.IsNotFound()) return std::nullopt;
  if (!s.ok()) return FromRocks(s, StorageErrorKind::kRead, "read counter");
  absl::StatusOr<CounterState> state = DecodeCounterState(ToView(value));
  if (!state.ok()) return state.status();
  return std::optional<CounterState>(std::move(*state));
}

absl::Status RocksDbCounterStore::Commit(WriteSet& writes) {
  return writer_->Commit(writes);
}

void RocksDbCounterStore::CommitAsync(WriteSet& writes, CommitDone done) {
  writer_->CommitAsync(writes, std::move(done));
}

void RocksDbCounterStore::CommitInOrder(WriteSet& writes, Queued queued,
                                        CommitDone done) {
  writer_->CommitInOrder(writes, std::move(queued), std::move(done));
}

absl::StatusOr<LockoutPage> RocksDbCounterStore::ListLockouts(
    const LockoutQuery& query) {
  LockoutPage page;
  if (query.page_size == 0) return page;
  std::string prefix;
  if (query.policy.empty()) {
    prefix.push_back(kAllLockoutsPrefix);
  } else if (query.policy.size() <= kMaxIndexedPolicyBytes) {
    prefix = PolicyLockoutsPrefix(query.policy);
  } else {
    return page;  // No such policy is ever indexed.
  }
  // The first key past the prefix's range; none when it is all 0xff.
  std::string end = prefix;
  while (!end.empty() && static_cast<uint8_t>(end.back()) == 0xff) {
    end.pop_back();
  }
  if (!end.empty()) end.back() = static_cast<char>(end.back() + 1);
  const rocksdb::Slice end_slice(end);
  rocksdb::ReadOptions options;
  if (!end.empty()) options.iterate_upper_bound = &end_slice;
  std::unique_ptr<rocksdb::Iterator> it(
      db_->db()->NewIterator(options, db_->lockouts()));

  const std::string start = prefix + query.after;
  it->Seek(start);
  if (!query.after.empty() && it->Valid() && ToView(it->key()) == start) {
    it->Next();  // Strictly after.
  }
  size_t skipped = 0;
  for (; it->Valid(); it->Next()) {
    const absl::string_view key = ToView(it->key());
    if (key.substr(0, prefix.size()) != prefix) break;
    const absl::string_view order = key.substr(prefix.size());
    const absl::string_view value = ToView(it->value());
    absl::StatusOr<int64_t> until = DecodeLockedUntil(value);
    if (!until.ok()) return until.status();
    if (*until <= query.now_ms) {
      if (++skipped == kMaxSkippedLockouts) {
        page.next = std::string(order);
        break;
      }
      continue;
    }
    if (page.entries.size() == query.page_size) {
      page.next = LockoutOrderKey(page.entries.back().locked_at_ms,
                                  page.entries.back().storage_key);
      break;
    }
    absl::StatusOr<LockoutEntry> entry = DecodeLockoutEntry(value);
    if (!entry.ok()) return entry.status();
    if (LockoutOrderKey(entry->locked_at_ms, entry->storage_key) != order ||
        (!query.policy.empty() && entry->policy != query.policy)) {
      return StorageError(StorageErrorKind::kCorrupt,
                          "corrupt lockout entry: does not match its key");
    }
    page.entries.push_back(*std::move(entry));
  }
  if (!it->status().ok()) {
    return FromRocks(it->status(), StorageErrorKind::kRead, "list lockouts");
  }
  return page;
}

}  // namespace gatehouse
