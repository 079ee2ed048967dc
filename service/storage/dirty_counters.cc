#include "service/storage/dirty_counters.h"

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"
#include "absl/synchronization/mutex.h"

namespace gatehouse {

struct DirtyCounters::Shard {
  using Map = absl::flat_hash_map<std::string, std::optional<CounterState>>;

  mutable absl::Mutex mu;
  Map active ABSL_GUARDED_BY(mu);
  // Not changed between BeginCheckpoint and EndCheckpoint, so the entries
  // handed out stay valid.
  Map checkpointing ABSL_GUARDED_BY(mu);
};

DirtyCounters::DirtyCounters(size_t shards)
    : shard_count_(std::max<size_t>(shards, 1)),
      shards_(new Shard[shard_count_]) {}

DirtyCounters::~DirtyCounters() = default;

size_t DirtyCounters::ShardIndexOf(absl::string_view key) const {
  return absl::Hash<absl::string_view>()(key) % shard_count_;
}

void DirtyCounters::Apply(const std::vector<const WriteSet*>& commits) {
  // Every shard the commits touch is locked at once, in index order (no
  // other code holds two shard locks), so that no reader sees part of the
  // changes.
  std::vector<size_t> touched;
  for (const WriteSet* writes : commits) {
    for (const std::string& key : writes->deletes) {
      touched.push_back(ShardIndexOf(key));
    }
    for (const auto& put : writes->puts) {
      touched.push_back(ShardIndexOf(put.first));
    }
  }
  std::sort(touched.begin(), touched.end());
  touched.erase(std::unique(touched.begin(), touched.end()), touched.end());
  for (size_t i : touched) shards_[i].mu.Lock();
  size_t added = 0;
  for (const WriteSet* writes : commits) {
    for (const std::string& key : writes->deletes) {
      Shard& shard = shards_[ShardIndexOf(key)];
      shard.mu.AssertHeld();
      added += shard.active.insert_or_assign(key, std::nullopt).second;
    }
    for (const auto& [key, state] : writes->puts) {
      Shard& shard = shards_[ShardIndexOf(key)];
      shard.mu.AssertHeld();
      added += shard.active.insert_or_assign(key, state).second;
    }
  }
  for (auto i = touched.rbegin(); i != touched.rend(); ++i) {
    shards_[*i].mu.Unlock();
  }
  size_.fetch_add(added, std::memory_order_relaxed);
}

bool DirtyCounters::Find(absl::string_view key,
                         std::optional<CounterState>* state) const {
  Shard& shard = shards_[ShardIndexOf(key)];
  absl::MutexLock lock(&shard.mu);
  auto it = shard.active.find(key);
  if (it == shard.active.end()) {
    it = shard.checkpointing.find(key);
    if (it == shard.checkpointing.end()) return false;
  }
  *state = it->second;
  return true;
}

void DirtyCounters::BeginCheckpoint() {
  for (size_t i = 0; i < shard_count_; ++i) {
    Shard& shard = shards_[i];
    absl::MutexLock lock(&shard.mu);
    shard.checkpointing.swap(shard.active);
    size_.fetch_sub(shard.checkpointing.size(), std::memory_order_relaxed);
  }
}

std::vector<const DirtyCounters::Entry*> DirtyCounters::CheckpointEntries()
    const {
  std::vector<const Entry*> entries;
  for (size_t i = 0; i < shard_count_; ++i) {
    Shard& shard = shards_[i];
    absl::MutexLock lock(&shard.mu);
    for (const Entry& entry : shard.checkpointing) entries.push_back(&entry);
  }
  std::sort(entries.begin(), entries.end(),
            [](const Entry* a, const Entry* b) { return a->first < b->first; });
  return entries;
}

void DirtyCounters::EndCheckpoint(bool written) {
  for (size_t i = 0; i < shard_count_; ++i) {
    Shard& shard = shards_[i];
    Shard::Map dropped;
    {
      absl::MutexLock lock(&shard.mu);
      if (!written) {
        size_t returned = 0;
        for (auto& [key, state] : shard.checkpointing) {
          returned += shard.active.try_emplace(key, std::move(state)).second;
        }
        size_.fetch_add(returned, std::memory_order_relaxed);
      }
      dropped.swap(shard.checkpointing);
    }
    // Freed outside the lock, which commits wait for.
  }
}

}  // namespace gatehouse
