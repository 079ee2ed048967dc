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
// - Read returns the cached committed state, or reads through on a miss and
//   caches what it read, unless a commit changed the key's shard meanwhile
//   (the read may then be older than the commit, and must not replace it).
// - A commit puts its states in the table as queued, beside the committed
//   ones, all at once (under the locks of every shard they touch), commits
//   to the inner store, and once that succeeded makes them the committed
//   states, in the order the commits were queued, so a reader never sees
//   half a commit. On failure its queued states go, and a key that no
//   other commit has queued states for is dropped from the table, so the
//   next read goes to the inner store: memory never holds what storage
//   does not.
// - Where the inner store writes_in_order(), ReadLatest shows a key's last
//   queued state (shows_queued_states()), so the holder of the key's lock
//   decides on it without waiting for the write, and the commits it
//   depends on go in its WriteSet::after: the inner store writes it only
//   if they were. Otherwise ReadLatest is Read and a commit's `queued`
//   runs once it settled.
// - A Read of a key that has queued states and no committed one in the
//   table waits for them to settle: the inner store may already hold a
//   commit's states while the table does not yet, and answering from the
//   one for one key and from the other for the next could show half a
//   commit.
// - Expired states are returned as stored (callers check expires_at_ms, as
//   for any CounterStore); they go when evicted. Keys with queued states
//   are not evicted.
//
// Thread-safe. REQUIRES: commits that change the same key are queued one
// after another, by the holder of the key's lock (the Limiter's stripes),
// after reading it with ReadLatest. Reads may run at any time. Does not own
// `inner`, which must outlive it.
class CachedCounterStore final : public CounterStore {
 public:
  CachedCounterStore(CounterStore* inner, const CounterCacheOptions& options);
  ~CachedCounterStore() override;
  CachedCounterStore(const CachedCounterStore&) = delete;
  CachedCounterStore& operator=(const CachedCounterStore&) = delete;

  absl::StatusOr<std::optional<CounterState>> Read(
      absl::string_view key) override;
  absl::StatusOr<std::optional<CounterState>> ReadLatest(
      absl::string_view key, CommitOutcomes& after) override;
  absl::Status Commit(WriteSet& writes) override;
  void CommitAsync(WriteSet& writes, CommitDone done) override;
  bool shows_queued_states() const override {
    return inner_->writes_in_order();
  }
  void CommitInOrder(WriteSet& writes, Queued queued, CommitDone done) override;
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
  // Reads that waited for a commit of their key to settle (Read of a key
  // with queued states only).
  uint64_t waits() const { return waits_.load(std::memory_order_relaxed); }
  // Commits refused before reaching the inner store because a commit whose
  // queued states they were decided on had failed already.
  uint64_t dependent_failures() const {
    return dependent_failures_.load(std::memory_order_relaxed);
  }

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
  // Reads through to the inner store and caches what it read unless a
  // commit changed the shard meanwhile; nullopt when the key has an entry
  // now (the caller looks again).
  std::optional<absl::StatusOr<std::optional<CounterState>>> ReadThrough(
      Shard& shard, absl::string_view key);
  // Gives `writes` an outcome and queues its states in the table.
  CommitKeys Show(WriteSet& writes);
  // Once the inner commit of `writes` settled with `committed`: makes its
  // queued states committed ones (drops them on failure).
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
  std::atomic<uint64_t> dependent_failures_{0};
};

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_CORE_CACHED_COUNTER_STORE_H_
