#include "service/storage/counter_checkpointer.h"

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "service/core/status_macros.h"
#include "service/logging/json_log.h"
#include "service/storage/redo_record.h"
#include "service/storage/store_layout.h"
#include "service/storage/value_codec.h"

namespace gatehouse {
namespace {

// Adds the checkpoint mark at `sequence` and the deletion of the redo
// records up to it.
rocksdb::Status AddMark(StoreDb* db, uint64_t sequence,
                        rocksdb::WriteBatch& batch) {
  rocksdb::Status s =
      batch.Put(db->counters(), kRedoCheckpointKey, SequenceKey(sequence));
  if (s.ok()) {
    s = batch.DeleteRange(db->redo(), SequenceKey(0),
                          SequenceKey(sequence + 1));
  }
  return s;
}

}  // namespace

absl::StatusOr<uint64_t> CounterCheckpointer::Replay(StoreDb* db) {
  uint64_t last = 0;
  std::string mark;
  rocksdb::Status s = db->db()->Get(rocksdb::ReadOptions(), db->counters(),
                                    kRedoCheckpointKey, &mark);
  if (s.ok()) {
    last = ParseSequenceKey(mark);
  } else if (!s.IsNotFound()) {
    return FromRocks(s, StorageErrorKind::kRead, "read redo checkpoint");
  }
  // Each key's last change, in record order.
  absl::flat_hash_map<std::string, std::optional<std::string>> latest;
  std::vector<RedoChange> changes;
  uint64_t records = 0;
  std::unique_ptr<rocksdb::Iterator> it(
      db->db()->NewIterator(rocksdb::ReadOptions(), db->redo()));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const uint64_t sequence = ParseSequenceKey(ToView(it->key()));
    changes.clear();
    absl::Status decoded = DecodeRedoRecord(ToView(it->value()), changes);
    if (!decoded.ok()) {
      return absl::DataLossError(
          absl::StrCat("redo record ", sequence, ": ", decoded.message()));
    }
    for (RedoChange& change : changes) {
      latest.insert_or_assign(std::move(change.key), std::move(change.value));
    }
    last = std::max(last, sequence);
    ++records;
  }
  if (!it->status().ok()) {
    return FromRocks(it->status(), StorageErrorKind::kRead, "scan redo");
  }
  if (records == 0) return last;
  std::vector<const decltype(latest)::value_type*> sorted;
  sorted.reserve(latest.size());
  for (const auto& entry : latest) sorted.push_back(&entry);
  std::sort(sorted.begin(), sorted.end(),
            [](const auto* a, const auto* b) { return a->first < b->first; });
  rocksdb::WriteBatch batch;
  for (const auto* entry : sorted) {
    s = entry->second ? batch.Put(db->counters(), entry->first, *entry->second)
                      : batch.Delete(db->counters(), entry->first);
    if (!s.ok()) return FromRocks(s, StorageErrorKind::kWrite, "replay");
  }
  s = AddMark(db, last, batch);
  if (!s.ok()) return FromRocks(s, StorageErrorKind::kWrite, "replay");
  rocksdb::WriteOptions options;
  options.sync = true;
  GH_RETURN_IF_ERROR(
      db->Written(db->db()->Write(options, &batch), "replay counter changes"));
  return last;
}

CounterCheckpointer::CounterCheckpointer(StoreDb* db, GroupCommitWriter* writer,
                                         DirtyCounters* dirty,
                                         const CheckpointOptions& options)
    : db_(db), writer_(writer), dirty_(dirty), options_(options) {
  if (options_.interval > absl::ZeroDuration()) {
    thread_ = std::thread([this] { Run(); });
  }
}

CounterCheckpointer::~CounterCheckpointer() {
  {
    absl::MutexLock lock(&stop_mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
  Checkpoint().IgnoreError();
}

absl::Status CounterCheckpointer::Checkpoint() {
  return Write(/*paced=*/false);
}

absl::Status CounterCheckpointer::Write(bool paced) {
  absl::MutexLock lock(&checkpoint_mu_);
  const uint64_t sealed = writer_->BeginCheckpoint();
  const std::vector<const DirtyCounters::Entry*> entries =
      dirty_->CheckpointEntries();
  if (entries.empty()) {
    dirty_->EndCheckpoint(/*written=*/true);
    return absl::OkStatus();
  }
  // In batches of kKeysPerWrite: RocksDB writes one batch at a time, so
  // one large batch would hold up every commit behind it. A crash between
  // them is harmless: the mark moves only with the last, and replaying the
  // redo records from the old mark ends at the same states. Paced, each
  // write is followed by a pause (kPauseFactor): back to back, the writes
  // of 512 keys held commits up: the p99 of unary Checks at half load was
  // 1.5 ms without checkpoints, 12-21 ms with them, 2.2-2.4 ms paced, and
  // 1.4-1.9 ms paced by 128 keys (bench/RESULTS.md, part 4; part 5 for
  // the longer pause).
  rocksdb::Status s;
  for (size_t begin = 0; begin < entries.size() && s.ok();
       begin += kKeysPerWrite) {
    const size_t end = std::min(entries.size(), begin + kKeysPerWrite);
    const absl::Time start = absl::Now();
    rocksdb::WriteBatch batch;
    for (size_t i = begin; i < end && s.ok(); ++i) {
      const auto& [key, state] = *entries[i];
      s = state ? batch.Put(db_->counters(), key, EncodeCounterState(*state))
                : batch.Delete(db_->counters(), key);
    }
    if (s.ok() && end == entries.size()) s = AddMark(db_, sealed, batch);
    // Not synced: until the batch is durable, so are the redo records it
    // deletes (a later synced commit syncs the log up to it).
    if (s.ok()) s = db_->db()->Write(rocksdb::WriteOptions(), &batch);
    // Unpaced once the next generation has reached the key-count trigger:
    // commits are changing keys faster than a paced checkpoint writes them,
    // and the dirty states' memory is bounded only as long as checkpoints
    // keep up.
    if (paced && end < entries.size() &&
        dirty_->size() < options_.max_dirty_keys) {
      absl::SleepFor(kPauseFactor * (absl::Now() - start));
    }
  }
  absl::Status written = db_->Written(s, "counter checkpoint");
  dirty_->EndCheckpoint(written.ok());
  if (written.ok()) {
    checkpoints_.fetch_add(1, std::memory_order_relaxed);
    keys_written_.fetch_add(entries.size(), std::memory_order_relaxed);
  }
  return written;
}

void CounterCheckpointer::Run() {
  const absl::Duration poll =
      std::min(options_.interval, absl::Milliseconds(50));
  absl::Time last = absl::Now();
  auto stopping = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(stop_mu_) {
    return stopping_;
  };
  while (true) {
    {
      absl::MutexLock lock(&stop_mu_);
      if (stop_mu_.AwaitWithTimeout(absl::Condition(&stopping), poll)) return;
    }
    const size_t dirty = dirty_->size();
    if (dirty == 0) continue;
    if (dirty < options_.max_dirty_keys &&
        absl::Now() - last < options_.interval) {
      continue;
    }
    absl::Status s = Write(/*paced=*/true);
    last = absl::Now();
    if (!s.ok()) {
      LogJson(spdlog::level::warn, "counter checkpoint failed",
              {{"error", std::string(s.message())},
               {"dirty_keys", static_cast<uint64_t>(dirty)}});
    }
  }
}

}  // namespace gatehouse
