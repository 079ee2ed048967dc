#ifndef GATEHOUSE_SERVICE_STORAGE_LOCKOUT_COMPACTION_FILTER_H_
#define GATEHOUSE_SERVICE_STORAGE_LOCKOUT_COMPACTION_FILTER_H_

#include <rocksdb/compaction_filter.h>

#include "service/clock/clock.h"

namespace gatehouse {

// Drops lockout index entries (kLockoutsFamily, store_layout.h) whose
// lockout has ended (locked_until_ms at or before now on the store's
// clock), so the index does not grow with lockouts nobody lifted by hand.
// Permanent entries (kLockedUntilUnblockedMs) are kept until unblocked.
// Index values are written whole, so every ended entry passes through
// Filter() at some compaction; corrupt values are kept for an operator to
// inspect (ListLockouts reports them as DATA_LOSS).
//
// Holds no mutable state; thread-safe. Does not own the clock.
class LockoutCompactionFilter final : public rocksdb::CompactionFilter {
 public:
  explicit LockoutCompactionFilter(const Clock* clock) : clock_(clock) {}

  bool Filter(int level, const rocksdb::Slice& key,
              const rocksdb::Slice& existing_value, std::string* new_value,
              bool* value_changed) const noexcept override;
  const char* Name() const noexcept override {
    return "gatehouse.LockoutCompactionFilter";
  }

 private:
  const Clock* const clock_;
};

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_STORAGE_LOCKOUT_COMPACTION_FILTER_H_
