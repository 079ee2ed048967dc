#include "service/storage/lockout_compaction_filter.h"

#include "service/core/counter_state.h"
#include "service/storage/lockout_codec.h"

namespace gatehouse {

bool LockoutCompactionFilter::Filter(int /*level*/,
                                     const rocksdb::Slice& /*key*/,
                                     const rocksdb::Slice& existing_value,
                                     std::string* /*new_value*/,
                                     bool* /*value_changed*/) const noexcept {
  absl::StatusOr<int64_t> until = DecodeLockedUntil(
      absl::string_view(existing_value.data(), existing_value.size()));
  if (!until.ok() || *until == kLockedUntilUnblockedMs) return false;
  return *until <= absl::ToUnixMillis(clock_->Now());
}

}  // namespace gatehouse
