#ifndef GATEHOUSE_SERVICE_CORE_CACHED_COUNTER_STORE_H_
#define GATEHOUSE_SERVICE_CORE_CACHED_COUNTER_STORE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "service/core/counter_store.h"

namespace gatehouse {

struct CounterCacheOptions {
  // Upper bound of the memory the cached entries take (keys, states and the
  // table's own overhead, as estimated by CachedCounterStore::ChargeOf),
  // whatever the number of keys: entries not used recently are evicted
  // (second chance: an entry used since the last pass over it is kept).
  size_t capacity_bytes = 64 << 20;
  // Independent parts, each with its own lock and a share of the capacity.
  size_t shards = 16;
};

// A CounterStore that keeps the committed state of recently used keys in
// memory in front of another one (the RocksDB store), so that a hot key is
// read from the inner store once: a sharded, bounded table of counter
// states, absent states included.
//
// - Read returns the cached state, or reads through on a miss and caches
//   what it read, unless a commit changed the key's shard meanwhile (the
//   read may then be older than the commit, and must not replace it).
// - Commit marks its keys pending, commits to the inner store, and only
//   once that succeeded applies its puts and deletes to the table, all at
//   once (under the locks of every shard they touch), so a reader never
//   sees half a commit. On failure the keys are dropped from the table
//   instead, so the next read goes to the inner store: memory never holds
//   what storage does not.
// - A read that misses a pending key waits for that commit to settle: the
//   inner store may already hold the commit's states while the table does
//   not yet, and answering from the one for one key and from the other
//   for the next could show half a commit.
// - Expired states are returned as stored (callers check expires_at_ms, as
//   for any CounterStore); they go when evicted.
//
// Thread-safe. REQUIRES: commits that change the same key are not run
// concurrently (the Limiter's per-key locks serialise them), since the
// table is updated after the inner commit returns. Reads may run at any
// time. Does not own `inner`, which must outlive it.
class CachedCounterStore final : public CounterStore {
 public:
  CachedCounterStore(CounterStore* inner, const CounterCacheOptions& options);
  ~CachedCounterStore() override;
  CachedCounterStore(const CachedCounterStore&) = delete;
  CachedCounterStore& operator=(const CachedCounterStore&) = delete;

  absl::StatusOr<std::optional<CounterState>> Read(
      absl::string_view key) override;
  absl::Status Commit(WriteSet& writes) override;
  void CommitAsync(WriteSet& writes, CommitDone done) override;
  // The inner store's index: lockouts are not cached.
  absl::StatusOr<LockoutPage> ListLockouts(const LockoutQuery& query) override {
    return inner_->ListLockouts(query);
  }

  // What an entry for `key` holding `state` is charged against the
  // capacity: its key, its buckets, a fixed overhead for the entry and its
  // slot in the table, and the allocator's overhead per heap block.
  static size_t ChargeOf(absl::string_view key,
                         const std::optional<CounterState>& state);

  // Entries held, and their total charge (<= capacity_bytes).
  size_t entries() const;
  size_t charged_bytes() const;
  // Reads answered from the table, and those that read through.
  uint64_t hits() const { return hits_.load(std::memory_order_relaxed); }
  uint64_t misses() const { return misses_.load(std::memory_order_relaxed); }
  // Reads that waited for a commit of their key to settle.
  uint64_t waits() const { return waits_.load(std::memory_order_relaxed); }

 private:
  struct Shard;

  class ShardLocks;

  // The shard of a key whose hash (HashOf in the .cc) is `hash`.
  size_t ShardIndexOf(size_t hash) const { return hash % shard_count_; }
  Shard& ShardOf(absl::string_view key) const;
  // A commit's keys: their hashes (deletes first, then puts) and the
  // shards they fall in (ascending, unique).
  struct CommitKeys {
    std::vector<size_t> hashes;
    std::vector<size_t> shards;
  };
  // Marks the keys of `writes` pending.
  CommitKeys MarkPending(const WriteSet& writes);
  // Once the inner commit of `writes` settled with `committed`: unmarks
  // its keys and puts them in the table (drops them on failure).
  void Settle(const WriteSet& writes, const CommitKeys& keys,
              const absl::Status& committed);

  // Constant after construction.
  CounterStore* const inner_;
  const size_t shard_count_;
  const size_t shard_capacity_;
  std::unique_ptr<Shard[]> shards_;

  std::atomic<uint64_t> hits_{0};
  std::atomic<uint64_t> misses_{0};
  std::atomic<uint64_t> waits_{0};
};

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_CORE_CACHED_COUNTER_STORE_H_
