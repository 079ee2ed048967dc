#ifndef GATEHOUSE_SERVICE_STORAGE_LOCKOUT_CODEC_H_
#define GATEHOUSE_SERVICE_STORAGE_LOCKOUT_CODEC_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "service/core/lockout_index.h"

namespace gatehouse {

// Stored form of a LockoutEntry in the lockout index (store_layout.h).
// Self-checking as value_codec.h is: decoding never reads past the input
// and rejects anything malformed (DATA_LOSS naming the part).
//
//   u8      version (1)
//   varint  locked_until_ms   first, so the compaction filter reads only it
//   varint  locked_at_ms
//   varint  offences          (at most UINT32_MAX)
//   bytes   policy            (varint length, then the bytes; likewise below)
//   bytes   storage_key
//   bytes   reason
//   bytes   blocked_by
//   varint  number of key parts n (at most kMaxLockoutKeyParts)
//   n x     bytes dimension, bytes value
std::string EncodeLockoutEntry(const LockoutEntry& entry);

absl::StatusOr<LockoutEntry> DecodeLockoutEntry(absl::string_view bytes);

// Reads only locked_until_ms; DATA_LOSS when malformed.
absl::StatusOr<int64_t> DecodeLockedUntil(absl::string_view bytes);

inline constexpr uint64_t kMaxLockoutKeyParts = 64;
// Bound on each string of an entry (a storage key is the longest).
inline constexpr uint64_t kMaxLockoutFieldBytes = 64 * 1024;

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_STORAGE_LOCKOUT_CODEC_H_
