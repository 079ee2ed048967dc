#include "service/storage/rocksdb_audit_log.h"

#include <rocksdb/db.h>

#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "service/audit/audit_storage_codec.h"
#include "service/core/status_macros.h"
#include "service/storage/store_layout.h"

namespace gatehouse {

RocksDbAuditLog::RocksDbAuditLog(const StoreDb* db) : db_(db) {}

uint64_t RocksDbAuditLog::HeadSequence() const { return db_->HeadSequence(); }

uint64_t RocksDbAuditLog::OldestSequence() const {
  return db_->OldestSequence();
}

absl::StatusOr<std::vector<AuditEvent>> RocksDbAuditLog::Read(
    uint64_t from, size_t max) const {
  const StoreDb::AuditBounds bounds = db_->Bounds();
  const uint64_t head = bounds.head;
  if (from < bounds.oldest) {
    return absl::OutOfRangeError(absl::StrCat(
        "sequence ", from, " is older than retention; the oldest available is ",
        bounds.oldest));
  }
  std::vector<AuditEvent> out;
  if (from > head) return out;
  // Only committed sequences (<= head) are read, so a concurrent commit is
  // never seen half-way.
  std::unique_ptr<rocksdb::Iterator> it(
      db_->db()->NewIterator(rocksdb::ReadOptions(), db_->audit()));
  uint64_t expected = from;
  for (it->Seek(SequenceKey(from));
       it->Valid() && out.size() < max && expected <= head; it->Next()) {
    const uint64_t seq = ParseSequenceKey(ToView(it->key()));
    if (seq > head) break;
    GH_ASSIGN_OR_RETURN(AuditEvent event,
                        DecodeAuditEvent(ToView(it->value())));
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

bool RocksDbAuditLog::AwaitAfter(uint64_t after, absl::Duration timeout) const {
  return db_->AwaitHeadAfter(after, timeout);
}

absl::StatusOr<uint64_t> RocksDbAuditLog::FirstAtOrAfter(absl::Time t) const {
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

}  // namespace gatehouse
