#ifndef GATEHOUSE_SERVICE_CORE_IN_MEMORY_COUNTER_STORE_H_
#define GATEHOUSE_SERVICE_CORE_IN_MEMORY_COUNTER_STORE_H_

#include <deque>
#include <map>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "service/core/audit_log.h"
#include "service/core/counter_store.h"

namespace gatehouse {

// A CounterStore and AuditLog in memory: nothing survives the process. For
// core and service tests, and for callers who want no persistence.
// Thread-safe.
class InMemoryCounterStore final : public CounterStore, public AuditLog {
 public:
  absl::StatusOr<std::optional<CounterState>> Read(
      absl::string_view key) override;
  absl::Status Commit(WriteSet& writes) override;
  absl::StatusOr<LockoutPage> ListLockouts(const LockoutQuery& query) override;

  uint64_t HeadSequence() const override;
  uint64_t OldestSequence() const override;
  absl::StatusOr<std::vector<AuditEvent>> Read(uint64_t from,
                                               size_t max) const override;
  bool AwaitAfter(uint64_t after, absl::Duration timeout) const override;
  absl::StatusOr<uint64_t> FirstAtOrAfter(absl::Time t) const override;

  // Drops audit events older than `sequence` (retention).
  void DropAuditBefore(uint64_t sequence);

  // Number of stored counter states.
  size_t size() const;

 private:
  mutable absl::Mutex mu_;
  std::map<std::string, CounterState, std::less<>> states_ ABSL_GUARDED_BY(mu_);
  std::deque<AuditEvent> audit_ ABSL_GUARDED_BY(mu_);
  // The lockout index by LockoutOrderKey().
  std::map<std::string, LockoutEntry> lockouts_ ABSL_GUARDED_BY(mu_);
  // Sequence of audit_.front(); head is first_ + audit_.size() - 1.
  uint64_t first_ ABSL_GUARDED_BY(mu_) = 1;
};

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_CORE_IN_MEMORY_COUNTER_STORE_H_
