#include "service/core/in_memory_counter_store.h"

namespace gatehouse {

absl::StatusOr<std::optional<CounterState>> InMemoryCounterStore::Read(
    absl::string_view key) {
  absl::MutexLock lock(&mu_);
  auto it = states_.find(key);
  if (it == states_.end()) return std::nullopt;
  return it->second;
}

absl::Status InMemoryCounterStore::Commit(const WriteSet& writes) {
  absl::MutexLock lock(&mu_);
  for (const std::string& key : writes.deletes) states_.erase(key);
  for (const auto& [key, state] : writes.puts) states_[key] = state;
  return absl::OkStatus();
}

size_t InMemoryCounterStore::size() const {
  absl::MutexLock lock(&mu_);
  return states_.size();
}

}  // namespace gatehouse
