#include "service/core/lockout_index.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace gatehouse {
namespace {

constexpr char kTokenVersion = '\x01';
// An order key is 8 bytes of time then a storage key, which is at most a
// few kilobytes (bounded dimension values).
constexpr size_t kMaxOrderKeyBytes = 8 + 16 * 1024;

}  // namespace

std::string LockoutOrderKey(int64_t locked_at_ms,
                            absl::string_view storage_key) {
  // Big-endian complement: later times sort first.
  const uint64_t inverted = ~static_cast<uint64_t>(locked_at_ms);
  std::string out;
  out.reserve(8 + storage_key.size());
  for (int shift = 56; shift >= 0; shift -= 8) {
    out.push_back(static_cast<char>((inverted >> shift) & 0xff));
  }
  out.append(storage_key.data(), storage_key.size());
  return out;
}

std::string EncodeLockoutPageToken(absl::string_view order_key) {
  return absl::WebSafeBase64Escape(
      absl::StrCat(absl::string_view(&kTokenVersion, 1), order_key));
}

absl::StatusOr<std::string> DecodeLockoutPageToken(absl::string_view token,
                                                   absl::string_view field) {
  std::string raw;
  if (token.size() > 2 * kMaxOrderKeyBytes ||
      !absl::WebSafeBase64Unescape(token, &raw) || raw.size() < 9 ||
      raw[0] != kTokenVersion) {
    return absl::InvalidArgumentError(
        absl::StrCat(field,
                     ": not a page token of this server (pass next_page_token "
                     "back as it came)"));
  }
  return raw.substr(1);
}

}  // namespace gatehouse
