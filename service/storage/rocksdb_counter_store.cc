#include "service/storage/rocksdb_counter_store.h"

#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include "absl/strings/str_cat.h"
#include "service/audit/audit_storage_codec.h"
#include "service/core/status_macros.h"
#include "service/core/storage_error.h"
#include "service/core/subject_key.h"
#include "service/storage/expiry_compaction_filter.h"
#include "service/storage/rocksdb_logger.h"
#include "service/storage/value_codec.h"

namespace gatehouse {
namespace {

constexpr char kAuditFamily[] = "audit";
// Metadata keys in the default family; counter keys start with 'c'.
// The audit head, stored only by retention as it deletes events: otherwise
// the last event's key is the head, and a commit need not write it.
constexpr char kAuditHeadKey[] = "m:audit_head";
// Written by Recover() to prove that writes go through again.
constexpr char kProbeKey[] = "m:write_probe";

absl::Status FromRocks(const rocksdb::Status& s, StorageErrorKind kind,
                       absl::string_view what) {
  if (s.ok()) return absl::OkStatus();
  return StorageError(
      kind, absl::StrCat(what, StorageErrorKind::kWrite, ": ", s.ToString()));
}

rocksdb::Slice ToSlice(absl::string_view s) {
  return rocksdb::Slice(s.data(), s.size());
}

std::string SequenceKey(uint64_t seq) {
  std::string key(8, '\0');
  for (int i = 7; i >= 0; --i) {
    key[i] = static_cast<char>(seq & 0xff);
    seq >>= 8;
  }
  return key;
}

uint64_t ParseSequenceKey(const rocksdb::Slice& key) {
  uint64_t seq = 0;
  for (size_t i = 0; i < key.size() && i < 8; ++i) {
    seq = (seq << 8) | static_cast<uint8_t>(key[i]);
  }
  return seq;
}

rocksdb::BlockBasedTableOptions TableOptions(
    const std::shared_ptr<rocksdb::Cache>& cache) {
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = cache;
  table.cache_index_and_filter_blocks = true;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  // Partitioned bloom filters and a two-level index: a lookup loads only the
  // small partitions it needs into the block cache. With one full filter
  // and index block per SST file, those blocks grow with the file (MiBs at
  // millions of keys), outgrow a cache shard, and were read from the file
  // and checksummed again on every miss: a botnet of new keys spent 65% of
  // the server's CPU in XXH3 and pread copies (bench/RESULTS.md).
  table.index_type =
      rocksdb::BlockBasedTableOptions::IndexType::kTwoLevelIndexSearch;
  table.partition_filters = true;
  table.cache_index_and_filter_blocks_with_high_priority = true;
  table.pin_top_level_index_and_filter = true;
  table.pin_l0_filter_and_index_blocks_in_cache = true;
  return table;
}

}  // namespace

absl::StatusOr<std::unique_ptr<RocksDbCounterStore>> RocksDbCounterStore::Open(
    const std::string& dir, const Clock* clock,
    const RocksDbStoreOptions& options) {
  auto filter = std::make_unique<ExpiryCompactionFilter>(clock);
  rocksdb::DBOptions db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.max_background_jobs = 2;
  // RocksDB's log goes to ours, not to a LOG file on the data volume (see
  // JsonRocksDbLogger: a full disk would otherwise abort the process).
  db_options.info_log = std::make_shared<JsonRocksDbLogger>();
  std::shared_ptr<rocksdb::Cache> cache =
      rocksdb::NewLRUCache(options.block_cache_bytes);

  rocksdb::ColumnFamilyOptions counters;
  counters.compaction_filter = filter.get();
  counters.write_buffer_size = options.write_buffer_bytes;
  if (options.periodic_compaction_seconds > 0) {
    counters.periodic_compaction_seconds = options.periodic_compaction_seconds;
  }
  counters.compression = rocksdb::kLZ4Compression;
  counters.bottommost_compression = rocksdb::kZSTD;
  counters.table_factory.reset(
      rocksdb::NewBlockBasedTableFactory(TableOptions(cache)));

  // The audit log is append-only and read in order: no filter, no bloom.
  rocksdb::ColumnFamilyOptions audit;
  audit.write_buffer_size = options.write_buffer_bytes;
  audit.compression = rocksdb::kLZ4Compression;
  audit.bottommost_compression = rocksdb::kZSTD;
  rocksdb::BlockBasedTableOptions audit_table;
  audit_table.block_cache = cache;
  audit.table_factory.reset(rocksdb::NewBlockBasedTableFactory(audit_table));

  std::vector<rocksdb::ColumnFamilyDescriptor> families = {
      {rocksdb::kDefaultColumnFamilyName, counters}, {kAuditFamily, audit}};
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s =
      rocksdb::DB::Open(db_options, dir, families, &handles, &raw);
  if (!s.ok()) {
    return absl::UnavailableError(
        absl::StrCat("cannot open RocksDB in ", dir, ": ", s.ToString()));
  }
  std::unique_ptr<RocksDbCounterStore> store(new RocksDbCounterStore(
      std::move(filter), std::unique_ptr<rocksdb::DB>(raw), std::move(handles),
      options.sync, clock));
  absl::Status loaded = store->LoadAuditBounds();
  if (!loaded.ok()) return loaded;
  return store;
}

RocksDbCounterStore::RocksDbCounterStore(
    std::unique_ptr<ExpiryCompactionFilter> filter,
    std::unique_ptr<rocksdb::DB> db,
    std::vector<rocksdb::ColumnFamilyHandle*> handles, bool sync,
    const Clock* clock)
    : filter_(std::move(filter)),
      db_(std::move(db)),
      counters_(handles[0]),
      audit_(handles[1]),
      handles_(std::move(handles)),
      sync_(sync),
      clock_(clock) {}

RocksDbCounterStore::~RocksDbCounterStore() {
  if (db_) {
    for (rocksdb::ColumnFamilyHandle* h : handles_) {
      db_->DestroyColumnFamilyHandle(h).PermitUncheckedError();
    }
    db_->Close().PermitUncheckedError();
    db_.reset();
  }
}

absl::Status RocksDbCounterStore::LoadAuditBounds() {
  uint64_t head = 0;
  std::string value;
  rocksdb::Status s =
      db_->Get(rocksdb::ReadOptions(), counters_, kAuditHeadKey, &value);
  if (s.ok()) {
    head = ParseSequenceKey(value);
  } else if (!s.IsNotFound()) {
    return FromRocks(s, StorageErrorKind::kRead, "read audit head");
  }
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), audit_));
  it->SeekToLast();
  if (it->Valid()) head = std::max(head, ParseSequenceKey(it->key()));
  it->SeekToFirst();
  uint64_t oldest = it->Valid() ? ParseSequenceKey(it->key()) : head + 1;
  if (it->Valid()) {
    // A summary of folded refusals stands for the sequences before its own.
    GH_ASSIGN_OR_RETURN(AuditEvent first,
                        DecodeAuditEvent(absl::string_view(
                            it->value().data(), it->value().size())));
    if (first.first_sequence != 0 && first.first_sequence < oldest) {
      oldest = first.first_sequence;
    }
  }
  if (!it->status().ok())
    return FromRocks(it->status(), StorageErrorKind::kRead, "scan audit log");
  absl::MutexLock lock(&bounds_mu_);
  head_ = head;
  oldest_ = oldest;
  return absl::OkStatus();
}

absl::StatusOr<std::optional<CounterState>> RocksDbCounterStore::Read(
    absl::string_view key) {
  rocksdb::PinnableSlice value;
  rocksdb::Status s =
      db_->Get(rocksdb::ReadOptions(), counters_, ToSlice(key), &value);
  if (s.IsNotFound()) return std::nullopt;
  if (!s.ok()) return FromRocks(s, StorageErrorKind::kRead, "read counter");
  absl::StatusOr<CounterState> state =
      DecodeCounterState(absl::string_view(value.data(), value.size()));
  if (!state.ok()) return state.status();
  return std::optional<CounterState>(std::move(*state));
}

// A Commit carrying audit events, queued until a leader writes it.
struct RocksDbCounterStore::Writer {
  explicit Writer(WriteSet* w) : writes(w) {}
  WriteSet* const writes;
  bool done = false;
  absl::Status status;
};

absl::Status RocksDbCounterStore::AddCounters(const WriteSet& writes,
                                              rocksdb::WriteBatch& batch) {
  for (const std::string& key : writes.deletes) {
    rocksdb::Status s = batch.Delete(counters_, ToSlice(key));
    if (!s.ok()) return FromRocks(s, StorageErrorKind::kWrite, "batch delete");
  }
  for (const auto& [key, state] : writes.puts) {
    rocksdb::Status s =
        batch.Put(counters_, ToSlice(key), EncodeCounterState(state));
    if (!s.ok()) return FromRocks(s, StorageErrorKind::kWrite, "batch put");
  }
  return absl::OkStatus();
}

absl::Status RocksDbCounterStore::Commit(WriteSet& writes) {
  rocksdb::WriteOptions options;
  options.sync = sync_;
  if (writes.audit.empty()) {
    rocksdb::WriteBatch batch;
    GH_RETURN_IF_ERROR(AddCounters(writes, batch));
    return Written(db_->Write(options, &batch), "commit counters");
  }

  // Group commit, as in LevelDB's DBImpl::Write: commits queue up; the one
  // at the front (the leader) takes the queued commits into one atomic
  // WriteBatch, assigns their sequences in queue order and writes (and
  // fsyncs) once for all of them. Sequences stay gap-free: a group is
  // written entirely or not at all, and the head moves only once it is.
  Writer self(&writes);
  absl::MutexLock lock(&commit_mu_);
  writers_.push_back(&self);
  auto leads_or_done = [this, &self]()
                           ABSL_EXCLUSIVE_LOCKS_REQUIRED(commit_mu_) {
                             return self.done || writers_.front() == &self;
                           };
  commit_mu_.Await(absl::Condition(&leads_or_done));
  if (self.done) return self.status;

  std::vector<Writer*> group;
  rocksdb::WriteBatch batch;
  const uint64_t head = HeadSequence();
  uint64_t seq = head;
  for (Writer* w : writers_) {
    if (group.size() == kMaxGroupCommits) break;
    group.push_back(w);
    // A commit that cannot be encoded fails alone.
    batch.SetSavePoint();
    const uint64_t first = seq;
    absl::Status added = AddCounters(*w->writes, batch);
    for (AuditEvent& event : w->writes->audit) {
      if (!added.ok()) break;
      event.sequence = ++seq;
      added = FromRocks(
          batch.Put(audit_, SequenceKey(seq), EncodeAuditEvent(event)),
          StorageErrorKind::kWrite, "batch audit");
    }
    if (!added.ok()) {
      batch.RollbackToSavePoint().PermitUncheckedError();
      for (AuditEvent& event : w->writes->audit) event.sequence = 0;
      seq = first;
      w->status = added;
    } else {
      batch.PopSavePoint().PermitUncheckedError();
    }
  }
  absl::Status written = absl::OkStatus();
  if (seq > head) {
    // The head is not written: on opening it is the last event's key (or
    // the head that retention stored before deleting up to it).
    // Others queue up behind while the group is written; retention waits
    // on write_mu_ for the write to finish.
    commit_mu_.Unlock();
    {
      absl::MutexLock write(&write_mu_);
      written =
          Written(db_->Write(options, &batch), "commit counters and audit");
    }
    commit_mu_.Lock();
    if (written.ok()) {
      absl::MutexLock bounds(&bounds_mu_);
      head_ = seq;
    }
  }
  // Members are released only now: until done, each waits, so its
  // WriteSet stays valid.
  for (Writer* w : group) {
    if (w->status.ok()) {  // Not failed alone above.
      if (!written.ok()) {
        for (AuditEvent& event : w->writes->audit) event.sequence = 0;
      }
      w->status = written;
    }
    w->done = true;
  }
  writers_.erase(writers_.begin(), writers_.begin() + group.size());
  return self.status;
}

absl::Status RocksDbCounterStore::Written(const rocksdb::Status& s,
                                          absl::string_view what) {
  writable_.store(s.ok(), std::memory_order_relaxed);
  return FromRocks(s, StorageErrorKind::kWrite, what);
}

absl::Status RocksDbCounterStore::Recover() {
  if (writable()) return absl::OkStatus();
  // OK when RocksDB holds no background error (the failure was of one
  // write only, or RocksDB recovered by itself); the probe decides.
  rocksdb::Status s = db_->Resume();
  if (!s.ok()) return FromRocks(s, StorageErrorKind::kWrite, "resume writes");
  rocksdb::WriteOptions options;
  options.sync = true;
  return Written(db_->Put(options, counters_, kProbeKey, ""),
                 "write probe after a failure");
}

uint64_t RocksDbCounterStore::HeadSequence() const {
  absl::MutexLock lock(&bounds_mu_);
  return head_;
}

uint64_t RocksDbCounterStore::OldestSequence() const {
  absl::MutexLock lock(&bounds_mu_);
  return oldest_;
}

absl::StatusOr<std::vector<AuditEvent>> RocksDbCounterStore::Read(
    uint64_t from, size_t max) const {
  uint64_t head, oldest;
  {
    absl::MutexLock lock(&bounds_mu_);
    head = head_;
    oldest = oldest_;
  }
  if (from < oldest) {
    return absl::OutOfRangeError(absl::StrCat(
        "sequence ", from, " is older than retention; the oldest available is ",
        oldest));
  }
  std::vector<AuditEvent> out;
  if (from > head) return out;
  // Only committed sequences (<= head) are read, so a concurrent commit is
  // never seen half-way.
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), audit_));
  uint64_t expected = from;
  for (it->Seek(SequenceKey(from));
       it->Valid() && out.size() < max && expected <= head; it->Next()) {
    const uint64_t seq = ParseSequenceKey(it->key());
    if (seq > head) break;
    GH_ASSIGN_OR_RETURN(AuditEvent event,
                        DecodeAuditEvent(absl::string_view(
                            it->value().data(), it->value().size())));
    // A summary of folded refusals stands for first_sequence..seq.
    const uint64_t covers_from =
        event.first_sequence != 0 ? event.first_sequence : seq;
    if (covers_from > expected) {
      if (expected < OldestSequence()) {
        return absl::OutOfRangeError(absl::StrCat(
            "sequence ", expected,
            " was deleted by retention while being read; the oldest available "
            "is ",
            OldestSequence()));
      }
      return StorageError(
          StorageErrorKind::kCorrupt,
          absl::StrCat("audit log has a gap at sequence ", expected));
    }
    event.sequence = seq;
    out.push_back(std::move(event));
    expected = seq + 1;
  }
  if (!it->status().ok())
    return FromRocks(it->status(), StorageErrorKind::kRead, "read audit log");
  return out;
}

bool RocksDbCounterStore::AwaitAfter(uint64_t after,
                                     absl::Duration timeout) const {
  absl::MutexLock lock(&bounds_mu_);
  auto beyond = [this, after]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(bounds_mu_) {
    return head_ > after;
  };
  return bounds_mu_.AwaitWithTimeout(absl::Condition(&beyond), timeout);
}

absl::StatusOr<uint64_t> RocksDbCounterStore::FirstAtOrAfter(
    absl::Time t) const {
  const int64_t ms = absl::ToUnixMillis(t);
  uint64_t lo = OldestSequence(), hi = HeadSequence() + 1;
  // Binary search for the first sequence in [lo, hi) with time >= t.
  while (lo < hi) {
    const uint64_t mid = lo + (hi - lo) / 2;
    GH_ASSIGN_OR_RETURN(std::vector<AuditEvent> one, Read(mid, 1));
    if (one.empty() || one[0].time_ms >= ms) {
      hi = mid;
    } else {
      lo = mid + 1;
    }
  }
  return lo;
}

absl::StatusOr<uint64_t> RocksDbCounterStore::ApplyRetention(
    const AuditRetention& retention) {
  // The column family's size counts memtable arena memory and, until
  // compaction, deleted events: counted again, they drained the log a little
  // more on every run. So it only says whether to look closer: flushed (not
  // under commit_mu_, so commits go on), the retained range's size on disk
  // is the real figure.
  absl::MutexLock retention_lock(&retention_mu_);
  const bool over_budget =
      retention.max_bytes > 0 && ApproximateAuditBytes() > retention.max_bytes;
  uint64_t folded = 0;
  if (over_budget) {
    GH_RETURN_IF_ERROR(FromRocks(db_->Flush(rocksdb::FlushOptions(), audit_),
                                 StorageErrorKind::kWrite,
                                 "audit retention flush"));
    // Refusal events give way first. Each pass aims at the excess in
    // encoded bytes, which compress on disk, so it may fall short: measure
    // again and go on while refusal events are left.
    for (int pass = 0; pass < 8; ++pass) {
      GH_ASSIGN_OR_RETURN(const uint64_t bytes, RetainedBytes());
      if (bytes <= retention.max_bytes) break;
      const uint64_t target =
          bytes - static_cast<uint64_t>(0.9 * retention.max_bytes);
      GH_ASSIGN_OR_RETURN(const uint64_t saved, FoldRefusals(target, &folded));
      if (saved == 0) break;
    }
  }
  absl::ReleasableMutexLock commit(&commit_mu_);
  // No new group starts while commit_mu_ is held; wait for one in flight.
  absl::ReleasableMutexLock write(&write_mu_);
  const uint64_t oldest = OldestSequence();
  const uint64_t head = HeadSequence();
  uint64_t new_oldest = oldest;
  if (retention.max_age > absl::ZeroDuration()) {
    GH_ASSIGN_OR_RETURN(uint64_t first_young,
                        FirstAtOrAfter(clock_->Now() - retention.max_age));
    new_oldest = std::max(new_oldest, first_young);
  }
  if (over_budget && head >= oldest) {
    // Keep about 90% of the budget: the first sequence from which the rest
    // of the log fits it. Sizes, not event counts: a summary of folded
    // refusals stands for many sequences in a few bytes.
    const uint64_t target =
        static_cast<uint64_t>(0.9 * static_cast<double>(retention.max_bytes));
    GH_ASSIGN_OR_RETURN(uint64_t bytes, BytesFrom(oldest, head));
    if (bytes > retention.max_bytes) {
      uint64_t lo = oldest, hi = head + 1;
      while (lo < hi) {
        const uint64_t mid = lo + (hi - lo) / 2;
        GH_ASSIGN_OR_RETURN(bytes, BytesFrom(mid, head));
        if (bytes <= target) {
          hi = mid;
        } else {
          lo = mid + 1;
        }
      }
      new_oldest = std::max(new_oldest, lo);
    }
  }
  if (new_oldest <= oldest) return folded;
  // Publish the new bound first so readers stop before the deleted range.
  {
    absl::MutexLock lock(&bounds_mu_);
    oldest_ = new_oldest;
  }
  // Commits do not store the head; once the deleted range may reach it,
  // the head key must, in the same atomic write.
  rocksdb::WriteBatch batch;
  rocksdb::Status s =
      batch.DeleteRange(audit_, SequenceKey(oldest), SequenceKey(new_oldest));
  if (s.ok()) s = batch.Put(counters_, kAuditHeadKey, SequenceKey(head));
  if (s.ok()) s = db_->Write(rocksdb::WriteOptions(), &batch);
  if (!s.ok()) return FromRocks(s, StorageErrorKind::kWrite, "audit retention");
  write.Release();
  commit.Release();
  // Reclaim the space now: keys only grow, so RocksDB would otherwise leave
  // the deleted events' files alone for a long time.
  GH_RETURN_IF_ERROR(
      CompactAudit(oldest, new_oldest, "audit retention compaction"));
  return folded + (new_oldest - oldest);
}

absl::Status RocksDbCounterStore::CompactAudit(uint64_t from, uint64_t to,
                                               absl::string_view what) {
  const std::string begin = SequenceKey(from);
  const std::string end = SequenceKey(to);
  const rocksdb::Slice begin_slice(begin);
  const rocksdb::Slice end_slice(end);
  rocksdb::CompactRangeOptions compact;
  compact.bottommost_level_compaction =
      rocksdb::BottommostLevelCompaction::kForceOptimized;
  return FromRocks(db_->CompactRange(compact, audit_, &begin_slice, &end_slice),
                   StorageErrorKind::kWrite, what);
}

absl::StatusOr<uint64_t> RocksDbCounterStore::BytesFrom(uint64_t from,
                                                        uint64_t head) const {
  const std::string begin = SequenceKey(from);
  const std::string end = SequenceKey(head + 1);
  const rocksdb::Range range(begin, end);
  uint64_t bytes = 0;
  GH_RETURN_IF_ERROR(
      FromRocks(db_->GetApproximateSizes(audit_, &range, 1, &bytes),
                StorageErrorKind::kRead, "audit retention size"));
  return bytes;
}

absl::StatusOr<uint64_t> RocksDbCounterStore::RetainedBytes() const {
  return BytesFrom(OldestSequence(), HeadSequence());
}

absl::StatusOr<uint64_t> RocksDbCounterStore::FoldRefusals(
    uint64_t target_bytes, uint64_t* removed) {
  const uint64_t head = HeadSequence();
  const uint64_t oldest = OldestSequence();
  // From the event before the cursor: a summary there joins the next run.
  uint64_t next = std::max(oldest, fold_cursor_ > 0 ? fold_cursor_ - 1 : 0);
  // A run of consecutive refusal events, as the summary that replaces it.
  struct Run {
    uint64_t first_key = 0;
    uint64_t events = 0;
    uint64_t encoded_bytes = 0;
    bool lone_summary = false;
    AuditEvent summary;
  } run;
  rocksdb::WriteBatch batch;
  uint64_t saved = 0;
  uint64_t compact_from = 0, compact_to = 0;
  auto close_run = [&]() -> absl::Status {
    Run done = std::move(run);
    run = Run{};
    // A summary alone is already folded.
    if (done.events == 0 || (done.events == 1 && done.lone_summary)) {
      return absl::OkStatus();
    }
    const std::string encoded = EncodeAuditEvent(done.summary);
    const uint64_t last = done.summary.sequence;
    GH_RETURN_IF_ERROR(
        FromRocks(batch.DeleteRange(audit_, SequenceKey(done.first_key),
                                    SequenceKey(last)),
                  StorageErrorKind::kWrite, "fold refusals"));
    GH_RETURN_IF_ERROR(FromRocks(batch.Put(audit_, SequenceKey(last), encoded),
                                 StorageErrorKind::kWrite, "fold refusals"));
    if (compact_from == 0) compact_from = done.first_key;
    compact_to = last;
    *removed += done.events - 1;
    if (done.encoded_bytes > encoded.size()) {
      saved += done.encoded_bytes - encoded.size();
    }
    return absl::OkStatus();
  };
  bool stopped = false;
  while (next <= head && !stopped) {
    GH_ASSIGN_OR_RETURN(std::vector<AuditEvent> events, Read(next, 1024));
    if (events.empty()) break;
    for (const AuditEvent& e : events) {
      if (e.sequence > head) break;
      if (e.refusal.empty()) {
        GH_RETURN_IF_ERROR(close_run());
        if (saved >= target_bytes) {
          fold_cursor_ = e.sequence;
          stopped = true;
          break;
        }
        continue;
      }
      AuditEvent& s = run.summary;
      const uint64_t calls = std::max<uint64_t>(e.refused_calls, 1);
      const int64_t first_ms =
          e.first_refused_ms > 0 ? e.first_refused_ms : e.time_ms;
      const int64_t last_ms =
          e.last_refused_ms > 0 ? e.last_refused_ms : e.time_ms;
      if (run.events == 0) {
        run.first_key = e.sequence;
        run.lone_summary = e.first_sequence != 0;
        s.first_sequence =
            e.first_sequence != 0 ? e.first_sequence : e.sequence;
        s.decision = Decision::kDeny;
        s.refusal = "refused calls folded by audit retention";
        s.first_refused_ms = first_ms;
      }
      ++run.events;
      run.encoded_bytes += EncodeAuditEvent(e).size();
      s.sequence = e.sequence;
      s.time_ms = e.time_ms;
      s.op = e.op;
      s.refused_calls += calls;
      s.first_refused_ms = std::min(s.first_refused_ms, first_ms);
      s.last_refused_ms = std::max(s.last_refused_ms, last_ms);
    }
    next = events.back().sequence + 1;
  }
  if (!stopped) {
    GH_RETURN_IF_ERROR(close_run());
    fold_cursor_ = next;
  }
  if (batch.Count() == 0) return 0;
  // Something was folded: report progress even if it saved little.
  saved = std::max<uint64_t>(saved, 1);
  rocksdb::WriteOptions options;
  options.sync = sync_;
  GH_RETURN_IF_ERROR(Written(db_->Write(options, &batch), "fold refusals"));
  GH_RETURN_IF_ERROR(
      CompactAudit(compact_from, compact_to + 1, "fold refusals compaction"));
  return saved;
}

uint64_t RocksDbCounterStore::ApproximateBytes(
    rocksdb::ColumnFamilyHandle* cf) const {
  uint64_t size = 0;
  db_->GetIntProperty(cf, "rocksdb.total-sst-files-size", &size);
  uint64_t mem = 0;
  db_->GetIntProperty(cf, "rocksdb.cur-size-all-mem-tables", &mem);
  return size + mem;
}

uint64_t RocksDbCounterStore::ApproximateCounterBytes() const {
  return ApproximateBytes(counters_);
}

uint64_t RocksDbCounterStore::ApproximateAuditBytes() const {
  return ApproximateBytes(audit_);
}

absl::Status RocksDbCounterStore::CompactAll() {
  absl::Status flushed =
      FromRocks(db_->Flush(rocksdb::FlushOptions(), handles_),
                StorageErrorKind::kWrite, "flush");
  if (!flushed.ok()) return flushed;
  rocksdb::CompactRangeOptions options;
  options.bottommost_level_compaction =
      rocksdb::BottommostLevelCompaction::kForce;
  for (rocksdb::ColumnFamilyHandle* h : handles_) {
    absl::Status s = FromRocks(db_->CompactRange(options, h, nullptr, nullptr),
                               StorageErrorKind::kWrite, "compact");
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

uint64_t RocksDbCounterStore::EstimateNumKeys() const {
  uint64_t keys = 0;
  db_->GetIntProperty(counters_, "rocksdb.estimate-num-keys", &keys);
  return keys;
}

absl::StatusOr<uint64_t> RocksDbCounterStore::CountCounterKeys() const {
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), counters_));
  uint64_t n = 0;
  const char prefix[1] = {kCounterKeyPrefix};
  for (it->Seek(rocksdb::Slice(prefix, 1));
       it->Valid() && it->key().size() > 0 && it->key()[0] == kCounterKeyPrefix;
       it->Next()) {
    ++n;
  }
  if (!it->status().ok())
    return FromRocks(it->status(), StorageErrorKind::kRead, "scan");
  return n;
}

}  // namespace gatehouse
