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

// A commit's state of a key, shown to ReadLatest until the commit settles.
struct QueuedState {
  std::optional<CounterState> state;
  // The commit's; identifies it.
  std::shared_ptr<CommitOutcome> outcome;
  // Its commit settled here: `state` is as written (stamped with its audit
  // sequence), not as queued.
  bool settled = false;
};

bool Written(const QueuedState& q) {
  return q.outcome->state() == CommitOutcome::State::kWritten;
}

struct Entry {
  std::string key;
  // What the inner store holds, when `known`.
  std::optional<CounterState> state;
  bool known = true;
  // States of commits not yet settled, first queued first.
  std::vector<QueuedState> queued;
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

size_t BucketsCharge(const std::optional<CounterState>& state) {
  const size_t buckets = state.has_value() ? state->buckets.size() : 0;
  return buckets > 0 ? buckets * sizeof(Bucket) + kBlockOverhead : 0;
}

// The entry's ChargeOf, and its queued states (their vector's block and
// their buckets).
size_t ChargeOfEntry(const Entry& entry) {
  size_t charge = CachedCounterStore::ChargeOf(
      entry.key, entry.known ? entry.state : std::nullopt);
  if (!entry.queued.empty()) {
    charge += entry.queued.capacity() * sizeof(QueuedState) + kBlockOverhead;
    for (const QueuedState& q : entry.queued) charge += BucketsCharge(q.state);
  }
  return charge;
}

absl::Status DependencyFailed() {
  return absl::UnavailableError(
      "commit not written: a commit whose counter states it was decided on "
      "failed");
}

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

  Entry* Find(absl::string_view key) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    auto found = index.find(key);
    return found == index.end() ? nullptr : &*found->second;
  }

  void Erase(absl::string_view key) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    auto found = index.find(key);
    if (found == index.end()) return;
    std::list<Entry>::iterator it = found->second;
    charged -= it->charge;
    index.erase(found);
    lru.erase(it);
  }

  // The entry of `key`, made (committed state unknown) when there is none.
  Entry& Make(absl::string_view key) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    if (Entry* entry = Find(key)) return *entry;
    lru.push_front(Entry{std::string(key), std::nullopt, false, {}, 0, false});
    index.emplace(lru.front().key, lru.begin());
    return lru.front();
  }

  void Recharge(Entry& entry) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    const size_t charge = ChargeOfEntry(entry);
    charged = charged - entry.charge + charge;
    entry.charge = charge;
  }

  // Caches `state`, read from the inner store, as the committed state of a
  // key that has no entry. An entry that alone exceeds `capacity` is not
  // held.
  void Cache(absl::string_view key, const std::optional<CounterState>& state,
             size_t capacity) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    if (ChargeOf(key, state) > capacity) return;
    Entry& entry = Make(key);
    entry.state = state;
    entry.known = true;
    Recharge(entry);
    Evict(capacity);
  }

  // Evicts entries not used since eviction last passed over them until the
  // shard is within `capacity`; a used one at the back goes to the front
  // unmarked, and so does one with queued states. Gives up after two
  // passes, when queued states alone exceed the capacity.
  void Evict(size_t capacity) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    for (size_t steps = 2 * lru.size(); charged > capacity && steps > 0;
         --steps) {
      auto last = std::prev(lru.end());
      if (last->referenced || !last->queued.empty()) {
        last->referenced = false;
        lru.splice(lru.begin(), lru, last);
      } else {
        Erase(last->key);
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
  return kEntryOverhead + key_heap + BucketsCharge(state);
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

std::optional<absl::StatusOr<std::optional<CounterState>>>
CachedCounterStore::ReadThrough(Shard& shard, absl::string_view key) {
  uint64_t changes = 0;
  {
    absl::MutexLock lock(&shard.mu);
    if (shard.Find(key) != nullptr) return std::nullopt;
    changes = shard.changes;
  }
  misses_.fetch_add(1, std::memory_order_relaxed);
  absl::StatusOr<std::optional<CounterState>> stored = inner_->Read(key);
  if (!stored.ok()) return stored;
  absl::MutexLock lock(&shard.mu);
  const Entry* entry = shard.Find(key);
  // A commit queued since may have written the key to the inner store and
  // not yet to the table: the caller looks at the table again.
  if (entry != nullptr && !entry->queued.empty()) return std::nullopt;
  // One that ended since may have made what was read stale; then the key
  // is left to the table as that commit left it (or to the next read).
  if (entry == nullptr && shard.changes == changes) {
    shard.Cache(key, *stored, shard_capacity_);
  }
  return stored;
}

absl::StatusOr<std::optional<CounterState>> CachedCounterStore::Read(
    absl::string_view key) {
  Shard& shard = ShardOf(key);
  for (;;) {
    {
      absl::MutexLock lock(&shard.mu);
      if (Entry* entry = shard.Find(key)) {
        if (entry->known) {
          entry->referenced = true;
          hits_.fetch_add(1, std::memory_order_relaxed);
          return entry->state;
        }
        // Only queued states: wait until one is committed, or all failed.
        waits_.fetch_add(1, std::memory_order_relaxed);
        auto settled = [&shard, key]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(shard.mu) {
          const Entry* e = shard.Find(key);
          return e == nullptr || e->known;
        };
        shard.mu.Await(absl::Condition(&settled));
        continue;
      }
    }
    auto stored = ReadThrough(shard, key);
    if (stored.has_value()) return *std::move(stored);
  }
}

absl::StatusOr<std::optional<CounterState>> CachedCounterStore::ReadLatest(
    absl::string_view key, CommitOutcomes& after) {
  if (!shows_queued_states()) return Read(key);
  Shard& shard = ShardOf(key);
  for (;;) {
    {
      absl::MutexLock lock(&shard.mu);
      if (Entry* entry = shard.Find(key)) {
        entry->referenced = true;
        hits_.fetch_add(1, std::memory_order_relaxed);
        if (entry->queued.empty()) return entry->state;
        const QueuedState& last = entry->queued.back();
        if (std::find(after.begin(), after.end(), last.outcome) ==
            after.end()) {
          after.push_back(last.outcome);
        }
        return last.state;
      }
    }
    auto stored = ReadThrough(shard, key);
    if (stored.has_value()) return *std::move(stored);
  }
}

CachedCounterStore::CommitKeys CachedCounterStore::Show(WriteSet& writes) {
  writes.outcome = std::make_shared<CommitOutcome>();
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
  size_t k = 0;
  auto show = [&](absl::string_view key,
                  const std::optional<CounterState>& state) {
    Shard& shard = shards_[ShardIndexOf(keys.hashes[k++])];
    shard.mu.AssertHeld();
    ++shard.changes;
    // A commit marks an entry it finds used; one it makes is new.
    if (Entry* found = shard.Find(key)) found->referenced = true;
    Entry& entry = shard.Make(key);
    entry.queued.push_back(QueuedState{state, writes.outcome, false});
    shard.Recharge(entry);
  };
  for (const std::string& key : writes.deletes) show(key, std::nullopt);
  for (const auto& [key, state] : writes.puts) show(key, state);
  return keys;
}

void CachedCounterStore::Settle(const WriteSet& writes, const CommitKeys& keys,
                                const absl::Status& committed) {
  writes.outcome->Set(committed.ok());
  const CommitOutcome* outcome = writes.outcome.get();
  ShardLocks locks(*this, keys.shards);
  size_t k = 0;
  auto settle = [&](absl::string_view key,
                    const std::optional<CounterState>& written) {
    Shard& shard = shards_[ShardIndexOf(keys.hashes[k++])];
    shard.mu.AssertHeld();
    ++shard.changes;
    Entry* entry = shard.Find(key);
    if (entry == nullptr) return;  // Cannot be: queued states pin it.
    std::vector<QueuedState>& queued = entry->queued;
    auto mine = std::find_if(
        queued.begin(), queued.end(),
        [outcome](const QueuedState& q) { return q.outcome.get() == outcome; });
    // Settled already by a later commit of the key.
    if (mine == queued.end()) return;
    if (committed.ok()) {
      // As written: its puts are stamped with their events' sequences now.
      mine->state = written;
      mine->settled = true;
      // A commit is written only if the ones queued before it on the key
      // were (it was decided on their states): the last settled state of
      // the written ones at the front becomes the committed one, and those
      // before it go, so that once a commit is answered every reader sees
      // it, even if the completions of earlier ones have not run yet.
      size_t last = queued.size();
      for (size_t i = 0; i < queued.size() && Written(queued[i]); ++i) {
        if (queued[i].settled) last = i;
      }
      if (last < queued.size()) {
        entry->state = std::move(queued[last].state);
        entry->known = true;
        queued.erase(queued.begin(), queued.begin() + last + 1);
      }
    } else {
      queued.erase(mine);
      // What the inner store holds is read again, unless a later commit
      // (which will fail too: it was decided on this one) still pins it.
      if (queued.empty()) {
        shard.Erase(key);
        return;
      }
    }
    if (queued.empty()) queued.shrink_to_fit();
    shard.Recharge(*entry);
  };
  for (const std::string& key : writes.deletes) settle(key, std::nullopt);
  for (const auto& [key, state] : writes.puts) settle(key, state);
  for (size_t index : keys.shards) {
    shards_[index].mu.AssertHeld();
    shards_[index].Evict(shard_capacity_);
  }
}

absl::Status CachedCounterStore::Commit(WriteSet& writes) {
  if (writes.deletes.empty() && writes.puts.empty()) {
    return inner_->Commit(writes);
  }
  if (AnyFailed(writes.after)) {
    dependent_failures_.fetch_add(1, std::memory_order_relaxed);
    return DependencyFailed();
  }
  const CommitKeys keys = Show(writes);
  const absl::Status committed = inner_->Commit(writes);
  Settle(writes, keys, committed);
  return committed;
}

void CachedCounterStore::CommitAsync(WriteSet& writes, CommitDone done) {
  CommitInOrder(
      writes, [] {}, std::move(done));
}

void CachedCounterStore::CommitInOrder(WriteSet& writes, Queued queued,
                                       CommitDone done) {
  if (writes.deletes.empty() && writes.puts.empty()) {
    inner_->CommitInOrder(writes, std::move(queued), std::move(done));
    return;
  }
  // A commit it was decided on failed already: nothing is shown.
  if (AnyFailed(writes.after)) {
    dependent_failures_.fetch_add(1, std::memory_order_relaxed);
    std::move(queued)();
    std::move(done)(DependencyFailed());
    return;
  }
  CommitKeys keys = Show(writes);
  if (shows_queued_states()) {
    inner_->CommitInOrder(
        writes, std::move(queued),
        [this, &writes, keys = std::move(keys),
         done = std::move(done)](absl::Status committed) mutable {
          Settle(writes, keys, committed);
          std::move(done)(std::move(committed));
        });
    return;
  }
  // The inner store gives no order before a commit settles: `queued` runs
  // once it has.
  inner_->CommitAsync(
      writes,
      [this, &writes, keys = std::move(keys), queued = std::move(queued),
       done = std::move(done)](absl::Status committed) mutable {
        Settle(writes, keys, committed);
        std::move(queued)();
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
