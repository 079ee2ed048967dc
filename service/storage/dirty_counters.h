#ifndef GATEHOUSE_SERVICE_STORAGE_DIRTY_COUNTERS_H_
#define GATEHOUSE_SERVICE_STORAGE_DIRTY_COUNTERS_H_

#include <atomic>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "service/core/counter_state.h"
#include "service/core/counter_store.h"

namespace gatehouse {

// The counter states a RocksDB store has made durable in its redo family
// (redo_record.h) but not yet checkpointed into its counters family: the
// newest committed state of each such key (nullopt for a deleted one).
// Reads look here before the counters family.
//
// Two generations: commits go into the active one; a checkpoint takes the
// active generation whole (BeginCheckpoint), writes it, and then drops it
// (EndCheckpoint). While it writes, a key is found in the active generation
// first, then in the one being written, so a reader always sees the newest
// state, and after EndCheckpoint the counters family holds what was
// dropped.
//
// Thread-safe; one checkpoint at a time.
class DirtyCounters {
 public:
  using Entry = std::pair<const std::string, std::optional<CounterState>>;

  explicit DirtyCounters(size_t shards = 16);
  ~DirtyCounters();
  DirtyCounters(const DirtyCounters&) = delete;
  DirtyCounters& operator=(const DirtyCounters&) = delete;

  // Records the puts and deletes of commits whose redo entries are written,
  // in their order there (each commit's deletes, then its puts), all at
  // once: a reader sees all of them or none.
  void Apply(const std::vector<const WriteSet*>& commits);

  // Whether `key` is dirty; if so sets `*state` to its newest state
  // (nullopt when deleted).
  bool Find(absl::string_view key, std::optional<CounterState>* state) const;

  // Keys in the active generation (changed since the last checkpoint
  // began).
  size_t size() const { return size_.load(std::memory_order_relaxed); }

  // Starts a checkpoint: the active generation becomes the one being
  // written. Cheap (no entry is copied). REQUIRES: no checkpoint in
  // progress.
  void BeginCheckpoint();
  // The entries of the generation being written, sorted by key. They stay
  // valid until EndCheckpoint.
  std::vector<const Entry*> CheckpointEntries() const;
  // Ends it. `written`: the entries are in the counters family, and are
  // dropped; otherwise they return to the active generation, except keys
  // changed since (whose newer state is there already).
  void EndCheckpoint(bool written);

 private:
  struct Shard;
  size_t ShardIndexOf(absl::string_view key) const;

  const size_t shard_count_;
  std::unique_ptr<Shard[]> shards_;
  std::atomic<size_t> size_{0};
};

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_STORAGE_DIRTY_COUNTERS_H_
