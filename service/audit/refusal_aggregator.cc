#include "service/audit/refusal_aggregator.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace gatehouse {

RefusalAggregator::RefusalAggregator(CounterStore* store, const Clock* clock,
                                     RefusalAggregatorOptions options)
    : store_(store), clock_(clock), options_(options) {}

std::string RefusalAggregator::Bounded(absl::string_view s, size_t max,
                                       bool* truncated) {
  if (s.size() <= max) return std::string(s);
  *truncated = true;
  size_t end = max;
  // Back off over UTF-8 continuation bytes so a character is never split.
  while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80) {
    --end;
  }
  return std::string(s.substr(0, end));
}

std::string RefusalAggregator::PeerAddress(absl::string_view peer,
                                           bool* truncated) {
  if (absl::StartsWith(peer, "ipv4:") || absl::StartsWith(peer, "ipv6:")) {
    const size_t colon = peer.rfind(':');
    absl::string_view port = peer.substr(colon + 1);
    const bool numeric =
        !port.empty() && std::all_of(port.begin(), port.end(), [](char c) {
          return absl::ascii_isdigit(c);
        });
    if (colon > 4 && numeric) peer = peer.substr(0, colon);
  }
  return Bounded(peer, kMaxPeerBytes, truncated);
}

void RefusalAggregator::Count(Series& series, uint64_t calls, int64_t first_ms,
                              int64_t last_ms) {
  if (series.pending == 0 || first_ms < series.first_pending_ms) {
    series.first_pending_ms = first_ms;
  }
  series.last_pending_ms = std::max(series.last_pending_ms, last_ms);
  series.pending += calls;
}

absl::Status RefusalAggregator::Add(AuditEvent event, absl::string_view peer,
                                    absl::string_view series_reason) {
  const int64_t now_ms = absl::ToUnixMillis(clock_->Now());
  bool truncated = false;
  event.peer = PeerAddress(peer, &truncated);
  event.refusal = Bounded(event.refusal, kMaxReasonBytes, &truncated);
  event.client_id = Bounded(event.client_id, kMaxClientIdBytes, &truncated);
  event.truncated = truncated;
  event.time_ms = now_ms;
  event.refused_calls = 1;
  event.first_refused_ms = now_ms;
  event.last_refused_ms = now_ms;

  std::string key =
      absl::StrCat(event.peer, std::string(1, '\0'), event.client_id,
                   std::string(1, '\0'), RpcOf(event), std::string(1, '\0'),
                   series_reason.empty() ? event.refusal : series_reason);
  {
    absl::MutexLock lock(&mu_);
    auto it = series_.find(key);
    if (it == series_.end() && series_.size() >= options_.max_series) {
      // One series for the rest: its event names no peer, client or reason
      // of its own.
      AuditEvent other;
      other.op = event.op;
      other.rpc = event.rpc;
      other.decision = Decision::kDeny;
      other.peer = kOverflowPeer;
      other.refusal =
          absl::StrCat("refusals of more than ", options_.max_series,
                       " peer/client/rpc/reason series in one interval");
      other.time_ms = now_ms;
      other.refused_calls = 1;
      other.first_refused_ms = now_ms;
      other.last_refused_ms = now_ms;
      event = std::move(other);
      key = kOverflowPeer;
      it = series_.find(key);
    }
    if (it != series_.end()) {
      Count(it->second, 1, now_ms, now_ms);
      ++aggregated_calls_;
      return absl::OkStatus();
    }
    Series& series = series_[key];
    series.first = event;
    series.first.context.clear();
    if (!series_reason.empty()) {
      series.first.refusal = std::string(series_reason);
      series.first.policy.clear();
      series.first.key.clear();
    }
    series.window_start_ms = now_ms;
  }
  // The first of a series is written at once, outside the lock: the next
  // refusals of the series are only counted meanwhile.
  WriteSet writes;
  writes.audit.push_back(std::move(event));
  absl::Status committed = store_->Commit(writes);
  if (!committed.ok()) {
    // Counted for the next Flush (the series may have been flushed away
    // meanwhile).
    absl::MutexLock lock(&mu_);
    auto [it, inserted] = series_.try_emplace(key);
    if (inserted) {
      it->second.first = writes.audit[0];
      it->second.first.context.clear();
      if (!series_reason.empty()) {
        it->second.first.refusal = std::string(series_reason);
        it->second.first.policy.clear();
        it->second.first.key.clear();
      }
      it->second.window_start_ms = now_ms;
    }
    Count(it->second, 1, now_ms, now_ms);
  }
  return committed;
}

absl::StatusOr<uint64_t> RefusalAggregator::Flush(bool all) {
  const int64_t now_ms = absl::ToUnixMillis(clock_->Now());
  const int64_t interval_ms = absl::ToInt64Milliseconds(options_.interval);
  WriteSet writes;
  std::vector<std::string> keys;
  {
    absl::MutexLock lock(&mu_);
    for (auto it = series_.begin(); it != series_.end();) {
      Series& s = it->second;
      if (!all && now_ms < s.window_start_ms + interval_ms) {
        ++it;
        continue;
      }
      if (s.pending == 0) {
        it = series_.erase(it);
        continue;
      }
      AuditEvent e = s.first;
      e.time_ms = now_ms;
      e.refused_calls = s.pending;
      e.first_refused_ms = s.first_pending_ms;
      e.last_refused_ms = s.last_pending_ms;
      writes.audit.push_back(std::move(e));
      keys.push_back(it->first);
      s.pending = 0;
      s.first_pending_ms = 0;
      s.last_pending_ms = 0;
      s.window_start_ms = now_ms;
      ++it;
    }
    if (all) series_.clear();
  }
  if (writes.audit.empty()) return 0;
  absl::Status committed = store_->Commit(writes);
  if (!committed.ok()) {
    // Kept for the next Flush: put the counts back.
    absl::MutexLock lock(&mu_);
    for (size_t i = 0; i < keys.size(); ++i) {
      const AuditEvent& e = writes.audit[i];
      auto [it, inserted] = series_.try_emplace(keys[i]);
      if (inserted) {
        it->second.first = e;
        it->second.window_start_ms = now_ms;
      }
      Count(it->second, e.refused_calls, e.first_refused_ms, e.last_refused_ms);
    }
    return committed;
  }
  return writes.audit.size();
}

uint64_t RefusalAggregator::aggregated_calls() const {
  absl::MutexLock lock(&mu_);
  return aggregated_calls_;
}

}  // namespace gatehouse
