#include "service/core/cached_counter_store.h"

#include <algorithm>
#include <list>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"
#include "absl/synchronization/mutex.h"

namespace gatehouse {
namespace {

struct Entry {
  std::string key;
  std::optional<CounterState> state;
  size_t charge = 0;
  // Used since eviction last passed over it: it gets a second chance.
  bool referenced = false;
};

// What each heap block costs beyond what it holds: glibc's chunk header and
// rounding up to 16 bytes.
constexpr size_t kBlockOverhead = 16;

size_t HashOf(absl::string_view key) {
  return absl::Hash<absl::string_view>{}(key);
}

// What the table pays per entry besides its key and buckets: the entry in
// its list node (two links, one block), and a slot of the index (a key view
// and an iterator plus a control byte, at a load factor down to one half).
constexpr size_t kEntryOverhead =
    sizeof(Entry) + 2 * sizeof(void*) + kBlockOverhead +
    2 * (sizeof(absl::string_view) + sizeof(void*) + 1);

}  // namespace

// A part of the table: entries in the order eviction passes over them (the
// last first) and an index into them by key. The index's keys view the
// entries' own keys, which list nodes keep in place. A use marks an entry
// instead of moving it to the front (the second-chance, or CLOCK,
// approximation of least-recently-used): a hit writes one flag in its own
// node rather than relinking its neighbours, which on a table of many keys
// are cache misses each.
struct CachedCounterStore::Shard {
  mutable absl::Mutex mu;
  std::list<Entry> lru ABSL_GUARDED_BY(mu);
  absl::flat_hash_map<absl::string_view, std::list<Entry>::iterator> index
      ABSL_GUARDED_BY(mu);
  size_t charged ABSL_GUARDED_BY(mu) = 0;
  // Counts the changes commits made here; a read-through caches what it
  // read only if this did not move while it read.
  uint64_t changes ABSL_GUARDED_BY(mu) = 0;
  // Hashes of the keys of the commits under way, with how many commits
  // hold each (a collision only makes a read wait for nothing).
  absl::flat_hash_map<size_t, int> pending ABSL_GUARDED_BY(mu);

  bool Pending(absl::string_view key) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    return pending.contains(HashOf(key));
  }

  void Erase(std::list<Entry>::iterator it) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    charged -= it->charge;
    index.erase(it->key);
    lru.erase(it);
  }

  // Sets the entry of `key` to `state`, used, evicting entries not used
  // since eviction last passed over them to stay within `capacity`. An
  // entry that alone exceeds it is not held.
  void Put(absl::string_view key, const std::optional<CounterState>& state,
           size_t capacity) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    const size_t charge = ChargeOf(key, state);
    auto found = index.find(key);
    if (charge > capacity) {
      if (found != index.end()) Erase(found->second);
      return;
    }
    if (found != index.end()) {
      // In place: the key and the buckets' storage are reused.
      Entry& entry = *found->second;
      charged = charged - entry.charge + charge;
      entry.state = state;
      entry.charge = charge;
      entry.referenced = true;
    } else {
      lru.push_front(Entry{std::string(key), state, charge});
      index.emplace(lru.front().key, lru.begin());
      charged += charge;
    }
    // A used entry at the back goes to the front unmarked; the entry just
    // put fits alone, so every other one is evicted before it would be.
    while (charged > capacity) {
      auto last = std::prev(lru.end());
      if (last->referenced) {
        last->referenced = false;
        lru.splice(lru.begin(), lru, last);
      } else {
        Erase(last);
      }
    }
  }
};

CachedCounterStore::CachedCounterStore(CounterStore* inner,
                                       const CounterCacheOptions& options)
    : inner_(inner),
      shard_count_(std::max<size_t>(1, options.shards)),
      shard_capacity_(options.capacity_bytes / shard_count_),
      shards_(new Shard[shard_count_]) {}

CachedCounterStore::~CachedCounterStore() = default;

size_t CachedCounterStore::ChargeOf(absl::string_view key,
                                    const std::optional<CounterState>& state) {
  // Short keys live inside the std::string itself.
  const size_t key_heap = key.size() > 15 ? key.size() + 1 + kBlockOverhead : 0;
  const size_t buckets = state.has_value() ? state->buckets.size() : 0;
  const size_t buckets_heap =
      buckets > 0 ? buckets * sizeof(Bucket) + kBlockOverhead : 0;
  return kEntryOverhead + key_heap + buckets_heap;
}

CachedCounterStore::Shard& CachedCounterStore::ShardOf(
    absl::string_view key) const {
  return shards_[ShardIndexOf(HashOf(key))];
}

// Holds the locks of the given shards (indexes, sorted and unique), taken
// in ascending order (so commits cannot deadlock), while it lives.
class CachedCounterStore::ShardLocks {
 public:
  ShardLocks(const CachedCounterStore& cache, const std::vector<size_t>& shards)
      : cache_(&cache), shards_(&shards) {
    for (size_t i : *shards_) cache.shards_[i].mu.Lock();
  }
  ~ShardLocks() {
    for (auto it = shards_->rbegin(); it != shards_->rend(); ++it) {
      cache_->shards_[*it].mu.Unlock();
    }
  }
  ShardLocks(const ShardLocks&) = delete;
  ShardLocks& operator=(const ShardLocks&) = delete;

 private:
  const CachedCounterStore* const cache_;
  const std::vector<size_t>* const shards_;
};

absl::StatusOr<std::optional<CounterState>> CachedCounterStore::Read(
    absl::string_view key) {
  Shard& shard = ShardOf(key);
  auto settled = [&shard, key]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(shard.mu) {
    return !shard.Pending(key);
  };
  for (;;) {
    uint64_t changes = 0;
    {
      absl::MutexLock lock(&shard.mu);
      auto found = shard.index.find(key);
      if (found != shard.index.end()) {
        found->second->referenced = true;
        hits_.fetch_add(1, std::memory_order_relaxed);
        return found->second->state;
      }
      if (!settled()) {
        waits_.fetch_add(1, std::memory_order_relaxed);
        shard.mu.Await(absl::Condition(&settled));
        continue;
      }
      changes = shard.changes;
    }
    misses_.fetch_add(1, std::memory_order_relaxed);
    absl::StatusOr<std::optional<CounterState>> stored = inner_->Read(key);
    if (!stored.ok()) return stored;
    absl::MutexLock lock(&shard.mu);
    // A commit that started since may have written the key to the inner
    // store and not yet to the table: read again once it settles.
    if (!settled()) continue;
    // One that ended since may have made what was read stale; then the key
    // is left to the table as that commit left it (or to the next read).
    if (shard.changes == changes) shard.Put(key, *stored, shard_capacity_);
    return stored;
  }
}

CachedCounterStore::CommitKeys CachedCounterStore::MarkPending(
    const WriteSet& writes) {
  // Each key's hash, computed once: deletes first, then puts.
  CommitKeys keys;
  keys.hashes.reserve(writes.deletes.size() + writes.puts.size());
  for (const std::string& key : writes.deletes) {
    keys.hashes.push_back(HashOf(key));
  }
  for (const auto& [key, state] : writes.puts) {
    keys.hashes.push_back(HashOf(key));
  }
  keys.shards.reserve(keys.hashes.size());
  for (size_t hash : keys.hashes) keys.shards.push_back(ShardIndexOf(hash));
  std::sort(keys.shards.begin(), keys.shards.end());
  keys.shards.erase(std::unique(keys.shards.begin(), keys.shards.end()),
                    keys.shards.end());
  ShardLocks locks(*this, keys.shards);
  for (size_t hash : keys.hashes) ++shards_[ShardIndexOf(hash)].pending[hash];
  return keys;
}

void CachedCounterStore::Settle(const WriteSet& writes, const CommitKeys& keys,
                                const absl::Status& committed) {
  ShardLocks locks(*this, keys.shards);
  for (size_t hash : keys.hashes) {
    Shard& shard = shards_[ShardIndexOf(hash)];
    shard.mu.AssertHeld();
    auto it = shard.pending.find(hash);
    if (--it->second == 0) shard.pending.erase(it);
    ++shard.changes;
  }
  size_t k = 0;
  auto settle = [&](absl::string_view key,
                    const std::optional<CounterState>& state) {
    Shard& shard = shards_[ShardIndexOf(keys.hashes[k++])];
    shard.mu.AssertHeld();
    if (committed.ok()) {
      shard.Put(key, state, shard_capacity_);
      return;
    }
    auto found = shard.index.find(key);
    if (found != shard.index.end()) shard.Erase(found->second);
  };
  for (const std::string& key : writes.deletes) settle(key, std::nullopt);
  for (const auto& [key, state] : writes.puts) settle(key, state);
}

absl::Status CachedCounterStore::Commit(WriteSet& writes) {
  if (writes.deletes.empty() && writes.puts.empty()) {
    return inner_->Commit(writes);
  }
  const CommitKeys keys = MarkPending(writes);
  const absl::Status committed = inner_->Commit(writes);
  Settle(writes, keys, committed);
  return committed;
}

void CachedCounterStore::CommitAsync(WriteSet& writes, CommitDone done) {
  if (writes.deletes.empty() && writes.puts.empty()) {
    inner_->CommitAsync(writes, std::move(done));
    return;
  }
  CommitKeys keys = MarkPending(writes);
  inner_->CommitAsync(writes,
                      [this, &writes, keys = std::move(keys),
                       done = std::move(done)](absl::Status committed) mutable {
                        Settle(writes, keys, committed);
                        std::move(done)(std::move(committed));
                      });
}

size_t CachedCounterStore::entries() const {
  size_t total = 0;
  for (size_t i = 0; i < shard_count_; ++i) {
    absl::MutexLock lock(&shards_[i].mu);
    total += shards_[i].lru.size();
  }
  return total;
}

size_t CachedCounterStore::charged_bytes() const {
  size_t total = 0;
  for (size_t i = 0; i < shard_count_; ++i) {
    absl::MutexLock lock(&shards_[i].mu);
    total += shards_[i].charged;
  }
  return total;
}

}  // namespace gatehouse
