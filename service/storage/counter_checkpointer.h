#ifndef GATEHOUSE_SERVICE_STORAGE_COUNTER_CHECKPOINTER_H_
#define GATEHOUSE_SERVICE_STORAGE_COUNTER_CHECKPOINTER_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "service/storage/dirty_counters.h"
#include "service/storage/group_commit_writer.h"
#include "service/storage/store_db.h"

namespace gatehouse {

struct CheckpointOptions {
  // A checkpoint starts this long after the previous one, when any key is
  // dirty; zero: only when asked (Checkpoint()) and on closing.
  absl::Duration interval = absl::Seconds(5);
  // ... and as soon as this many keys are dirty, whatever the interval:
  // with the interval, it bounds the memory DirtyCounters takes.
  size_t max_dirty_keys = 1 << 17;
};

// Moves counter changes from a RocksDB store's redo family into its
// counters family: lazily, in the background, each dirty key once however
// often it changed since the last checkpoint, in key order.
//
// A checkpoint seals the dirty keys at a redo sequence R
// (GroupCommitWriter::BeginCheckpoint), then writes, in one batch, their
// states into the counters family, kRedoCheckpointKey = R, and a deletion
// of the redo records up to R. Commits go on meanwhile (their records are
// above R, their keys in the next generation). A failed write changes
// nothing on disk; the keys stay dirty for the next checkpoint, and the
// redo records keep them durable.
//
// Opening a store replays what no checkpoint moved (Replay), so states
// committed and acknowledged survive a crash (kill -9) exactly as when
// every commit wrote them to the counters family.
//
// Thread-safe. Does not own its arguments, which must outlive it.
class CounterCheckpointer {
 public:
  // Moves every change in `db`'s redo family into its counters family (one
  // write) and returns the last redo sequence there was. DATA_LOSS when a
  // record does not decode; UNAVAILABLE when reading or writing fails.
  static absl::StatusOr<uint64_t> Replay(StoreDb* db);

  // Starts the background thread (unless options.interval is zero).
  CounterCheckpointer(StoreDb* db, GroupCommitWriter* writer,
                      DirtyCounters* dirty, const CheckpointOptions& options);
  // Stops the thread and checkpoints one last time (best effort: what it
  // cannot write is replayed on opening).
  ~CounterCheckpointer();
  CounterCheckpointer(const CounterCheckpointer&) = delete;
  CounterCheckpointer& operator=(const CounterCheckpointer&) = delete;

  // Checkpoints every key dirty now, at full speed (the background thread
  // paces its writes). The write's error (UNAVAILABLE) on failure.
  absl::Status Checkpoint();

  // Checkpoints written, and keys written by them.
  uint64_t checkpoints() const {
    return checkpoints_.load(std::memory_order_relaxed);
  }
  uint64_t keys_written() const {
    return keys_written_.load(std::memory_order_relaxed);
  }

 private:
  // Keys per RocksDB write of a checkpoint.
  static constexpr size_t kKeysPerWrite = 128;
  // Paced, each write (building its batch included) is followed by a pause
  // this many times as long: the checkpoint takes at most a third of a
  // core from the calls it runs beside.
  static constexpr int kPauseFactor = 2;

  // Checkpoint(), with a pause after each write when `paced`, unless the
  // active generation has reached max_dirty_keys.
  absl::Status Write(bool paced);
  void Run();

  // Constant after construction.
  StoreDb* const db_;
  GroupCommitWriter* const writer_;
  DirtyCounters* const dirty_;
  const CheckpointOptions options_;

  // One checkpoint at a time.
  absl::Mutex checkpoint_mu_ ABSL_ACQUIRED_BEFORE(stop_mu_);
  absl::Mutex stop_mu_;
  bool stopping_ ABSL_GUARDED_BY(stop_mu_) = false;
  std::thread thread_;

  std::atomic<uint64_t> checkpoints_{0};
  std::atomic<uint64_t> keys_written_{0};
};

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_STORAGE_COUNTER_CHECKPOINTER_H_
