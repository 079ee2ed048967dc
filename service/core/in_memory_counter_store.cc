#include "service/core/in_memory_counter_store.h"

#include "absl/strings/str_cat.h"

namespace gatehouse {

absl::StatusOr<std::optional<CounterState>> InMemoryCounterStore::Read(
    absl::string_view key) {
  absl::MutexLock lock(&mu_);
  auto it = states_.find(key);
  if (it == states_.end()) return std::nullopt;
  return it->second;
}

absl::Status InMemoryCounterStore::Commit(WriteSet& writes) {
  absl::MutexLock lock(&mu_);
  for (const std::string& key : writes.deletes) states_.erase(key);
  for (AuditEvent& event : writes.audit) {
    event.sequence = first_ + audit_.size();
    audit_.push_back(event);
  }
  StampAuditSequences(writes);
  for (const auto& [key, state] : writes.puts) states_[key] = state;
  for (const LockoutChange& change : writes.lockouts) {
    std::string order =
        LockoutOrderKey(change.entry.locked_at_ms, change.entry.storage_key);
    if (change.kind == LockoutChange::Kind::kPut) {
      lockouts_[std::move(order)] = change.entry;
    } else {
      lockouts_.erase(order);
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<LockoutPage> InMemoryCounterStore::ListLockouts(
    const LockoutQuery& query) {
  absl::MutexLock lock(&mu_);
  LockoutPage page;
  if (query.page_size == 0) return page;
  for (auto it = lockouts_.upper_bound(query.after); it != lockouts_.end();
       ++it) {
    const LockoutEntry& e = it->second;
    if (!query.policy.empty() && e.policy != query.policy) continue;
    if (e.locked_until_ms <= query.now_ms) continue;
    if (page.entries.size() == query.page_size) {
      page.next = LockoutOrderKey(page.entries.back().locked_at_ms,
                                  page.entries.back().storage_key);
      break;
    }
    page.entries.push_back(e);
  }
  return page;
}

uint64_t InMemoryCounterStore::HeadSequence() const {
  absl::MutexLock lock(&mu_);
  return first_ + audit_.size() - 1;
}

uint64_t InMemoryCounterStore::OldestSequence() const {
  absl::MutexLock lock(&mu_);
  return first_;
}

absl::StatusOr<std::vector<AuditEvent>> InMemoryCounterStore::Read(
    uint64_t from, size_t max) const {
  absl::MutexLock lock(&mu_);
  if (from < first_) {
    return absl::OutOfRangeError(absl::StrCat(
        "sequence ", from, " is older than retention; the oldest available is ",
        first_));
  }
  std::vector<AuditEvent> out;
  for (uint64_t i = from - first_; i < audit_.size() && out.size() < max; ++i) {
    out.push_back(audit_[i]);
  }
  return out;
}

bool InMemoryCounterStore::AwaitAfter(uint64_t after,
                                      absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  auto beyond = [this, after]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return first_ + audit_.size() - 1 > after;
  };
  return mu_.AwaitWithTimeout(absl::Condition(&beyond), timeout);
}

absl::StatusOr<uint64_t> InMemoryCounterStore::FirstAtOrAfter(
    absl::Time t) const {
  absl::MutexLock lock(&mu_);
  const int64_t ms = absl::ToUnixMillis(t);
  for (size_t i = 0; i < audit_.size(); ++i) {
    if (audit_[i].time_ms >= ms) return first_ + i;
  }
  return first_ + audit_.size();
}

void InMemoryCounterStore::DropAuditBefore(uint64_t sequence) {
  absl::MutexLock lock(&mu_);
  while (!audit_.empty() && first_ < sequence) {
    audit_.pop_front();
    ++first_;
  }
}

size_t InMemoryCounterStore::size() const {
  absl::MutexLock lock(&mu_);
  return states_.size();
}

}  // namespace gatehouse
