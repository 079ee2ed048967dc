#include "service/storage/expiry_compaction_filter.h"

#include "service/core/subject_key.h"
#include "service/storage/value_codec.h"

namespace gatehouse {

bool ExpiryCompactionFilter::Filter(int /*level*/, const rocksdb::Slice& key,
                                    const rocksdb::Slice& existing_value,
                                    std::string* /*new_value*/,
                                    bool* /*value_changed*/) const noexcept {
  if (!IsCounterKey(absl::string_view(key.data(), key.size()))) return false;
  absl::StatusOr<int64_t> expires = DecodeExpiresAt(
      absl::string_view(existing_value.data(), existing_value.size()));
  if (!expires.ok()) return false;
  return *expires <= absl::ToUnixMillis(clock_->Now());
}

}  // namespace gatehouse
