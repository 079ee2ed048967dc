#include "service/storage/refusal_folder.h"

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "service/audit/audit_storage_codec.h"
#include "service/core/status_macros.h"
#include "service/storage/store_layout.h"

namespace gatehouse {

RefusalFolder::RefusalFolder(StoreDb* db, const AuditLog* log)
    : db_(db), log_(log) {}

absl::StatusOr<uint64_t> RefusalFolder::Fold(uint64_t target_bytes,
                                             uint64_t* removed) {
  const uint64_t head = db_->HeadSequence();
  const uint64_t oldest = db_->OldestSequence();
  // From the event before the cursor: a summary there joins the next run.
  uint64_t next = std::max(oldest, cursor_ > 0 ? cursor_ - 1 : 0);
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
        FromRocks(batch.DeleteRange(db_->audit(), SequenceKey(done.first_key),
                                    SequenceKey(last)),
                  StorageErrorKind::kWrite, "fold refusals"));
    GH_RETURN_IF_ERROR(
        FromRocks(batch.Put(db_->audit(), SequenceKey(last), encoded),
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
    GH_ASSIGN_OR_RETURN(std::vector<AuditEvent> events, log_->Read(next, 1024));
    if (events.empty()) break;
    for (const AuditEvent& e : events) {
      if (e.sequence > head) break;
      if (e.refusal.empty()) {
        GH_RETURN_IF_ERROR(close_run());
        if (saved >= target_bytes) {
          cursor_ = e.sequence;
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
    cursor_ = next;
  }
  if (batch.Count() == 0) return 0;
  // Something was folded: report progress even if it saved little.
  saved = std::max<uint64_t>(saved, 1);
  rocksdb::WriteOptions options;
  options.sync = db_->sync();
  GH_RETURN_IF_ERROR(
      db_->Written(db_->db()->Write(options, &batch), "fold refusals"));
  GH_RETURN_IF_ERROR(db_->CompactAudit(compact_from, compact_to + 1,
                                       "fold refusals compaction"));
  return saved;
}

}  // namespace gatehouse
