#include "service/storage/lockout_codec.h"

#include <algorithm>
#include <utility>

#include "service/core/byte_codec.h"
#include "service/core/storage_error.h"

namespace gatehouse {
namespace {

constexpr uint8_t kVersion = 1;

absl::Status Corrupt(absl::string_view what) {
  return StorageError(
      StorageErrorKind::kCorrupt,
      std::string("corrupt lockout entry: ") + std::string(what));
}

}  // namespace

std::string EncodeLockoutEntry(const LockoutEntry& entry) {
  std::string out;
  out.reserve(32 + entry.policy.size() + entry.storage_key.size() +
              entry.reason.size() + entry.blocked_by.size());
  out.push_back(static_cast<char>(kVersion));
  PutVarint(out,
            static_cast<uint64_t>(std::max<int64_t>(0, entry.locked_until_ms)));
  PutVarint(out,
            static_cast<uint64_t>(std::max<int64_t>(0, entry.locked_at_ms)));
  PutVarint(out, entry.offences);
  PutBytes(out, entry.policy);
  PutBytes(out, entry.storage_key);
  PutBytes(out, entry.reason);
  PutBytes(out, entry.blocked_by);
  PutVarint(out, entry.key.size());
  for (const auto& [dimension, value] : entry.key) {
    PutBytes(out, dimension);
    PutBytes(out, value);
  }
  return out;
}

absl::StatusOr<int64_t> DecodeLockedUntil(absl::string_view bytes) {
  ByteReader r(bytes);
  uint8_t version;
  if (!r.Byte(version) || version != kVersion) return Corrupt("version");
  int64_t until;
  if (!r.Signed(until)) return Corrupt("locked_until");
  return until;
}

absl::StatusOr<LockoutEntry> DecodeLockoutEntry(absl::string_view bytes) {
  ByteReader r(bytes);
  LockoutEntry e;
  uint8_t version;
  if (!r.Byte(version) || version != kVersion) return Corrupt("version");
  if (!r.Signed(e.locked_until_ms)) return Corrupt("locked_until");
  if (!r.Signed(e.locked_at_ms)) return Corrupt("locked_at");
  uint64_t offences;
  if (!r.Varint(offences) || offences > UINT32_MAX) return Corrupt("offences");
  e.offences = static_cast<uint32_t>(offences);
  if (!r.Bytes(e.policy, kMaxLockoutFieldBytes) || e.policy.empty()) {
    return Corrupt("policy");
  }
  if (!r.Bytes(e.storage_key, kMaxLockoutFieldBytes) || e.storage_key.empty()) {
    return Corrupt("storage_key");
  }
  if (!r.Bytes(e.reason, kMaxLockoutFieldBytes)) return Corrupt("reason");
  if (!r.Bytes(e.blocked_by, kMaxLockoutFieldBytes)) {
    return Corrupt("blocked_by");
  }
  uint64_t n;
  if (!r.Varint(n) || n > kMaxLockoutKeyParts) return Corrupt("key parts");
  e.key.reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    std::string dimension, value;
    if (!r.Bytes(dimension, kMaxLockoutFieldBytes) ||
        !r.Bytes(value, kMaxLockoutFieldBytes)) {
      return Corrupt("key");
    }
    e.key.emplace_back(std::move(dimension), std::move(value));
  }
  if (!r.done()) return Corrupt("trailing bytes");
  return e;
}

}  // namespace gatehouse
