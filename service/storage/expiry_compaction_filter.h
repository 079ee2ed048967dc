#ifndef GATEHOUSE_SERVICE_STORAGE_EXPIRY_COMPACTION_FILTER_H_
#define GATEHOUSE_SERVICE_STORAGE_EXPIRY_COMPACTION_FILTER_H_

#include <rocksdb/compaction_filter.h>

#include "service/clock/clock.h"

namespace gatehouse {

// Drops counter records whose expires_at has passed, so the store does not
// grow with subjects that stopped being seen. Counter values are written
// whole (no merge operator), so every expired value passes through Filter()
// at some compaction. Corrupt values are kept (never silently deleted) for
// an operator to inspect.
//
// Holds no mutable state; thread-safe. Does not own the clock.
class ExpiryCompactionFilter final : public rocksdb::CompactionFilter {
 public:
  explicit ExpiryCompactionFilter(const Clock* clock) : clock_(clock) {}

  bool Filter(int level, const rocksdb::Slice& key,
              const rocksdb::Slice& existing_value, std::string* new_value,
              bool* value_changed) const noexcept override;
  const char* Name() const noexcept override {
    return "gatehouse.ExpiryCompactionFilter";
  }

 private:
  const Clock* const clock_;
};

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_STORAGE_EXPIRY_COMPACTION_FILTER_H_
