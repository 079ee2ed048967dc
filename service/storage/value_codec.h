#ifndef GATEHOUSE_SERVICE_STORAGE_VALUE_CODEC_H_
#define GATEHOUSE_SERVICE_STORAGE_VALUE_CODEC_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "service/core/counter_state.h"

namespace gatehouse {

// Stored form of a CounterState: a version byte, then varints. Compact (a
// single-hit subject encodes in about 17 bytes) and self-checking: decoding
// never reads past the input and rejects anything malformed.
//
//   u8      version (1)
//   varint  expires_at_ms        first, so the compaction filter reads only it
//   varint  bucket_ms
//   varint  number of buckets n  (at most kMaxEncodedBuckets)
//   n x     zigzag-varint index delta (first: absolute), varint count
//   u8      flags                bit 0: lockout fields follow
//                                bit 1: locked_at_ms follows
//                                bit 2: last_audit_sequence follows
//   [varint lockout_until_ms, varint offences, varint last_offence_ms]
//   [varint locked_at_ms]           non-zero
//   [varint last_audit_sequence]    non-zero
//
// Bits 1 and 2 are set only for non-zero values, so a state without them
// encodes byte for byte as before they existed, and values written then
// decode unchanged. Any other flag bit is corrupt: a binary from before
// them reads values that use them as DATA_LOSS rather than guess.
std::string EncodeCounterState(const CounterState& state);

// DATA_LOSS naming what is wrong when `bytes` is not a valid encoding.
absl::StatusOr<CounterState> DecodeCounterState(absl::string_view bytes);

// Reads only expires_at_ms; DATA_LOSS when malformed.
absl::StatusOr<int64_t> DecodeExpiresAt(absl::string_view bytes);

inline constexpr uint64_t kMaxEncodedBuckets = 8192;

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_STORAGE_VALUE_CODEC_H_
