#include "service/storage/store_layout.h"

#include "absl/strings/str_cat.h"

namespace gatehouse {

std::string SequenceKey(uint64_t seq) {
  std::string key(8, '\0');
  for (int i = 7; i >= 0; --i) {
    key[i] = static_cast<char>(seq & 0xff);
    seq >>= 8;
  }
  return key;
}

uint64_t ParseSequenceKey(absl::string_view key) {
  uint64_t seq = 0;
  for (size_t i = 0; i < key.size() && i < 8; ++i) {
    seq = (seq << 8) | static_cast<uint8_t>(key[i]);
  }
  return seq;
}

std::string AllLockoutsKey(absl::string_view order_key) {
  return absl::StrCat(absl::string_view(&kAllLockoutsPrefix, 1), order_key);
}

std::string PolicyLockoutsPrefix(absl::string_view policy) {
  const char header[2] = {kPolicyLockoutsPrefix,
                          static_cast<char>(policy.size())};
  return absl::StrCat(absl::string_view(header, 2), policy);
}

std::string PolicyLockoutsKey(absl::string_view policy,
                              absl::string_view order_key) {
  return absl::StrCat(PolicyLockoutsPrefix(policy), order_key);
}

}  // namespace gatehouse
