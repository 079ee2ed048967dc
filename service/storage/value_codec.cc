#include "service/storage/value_codec.h"

#include <algorithm>
#include <cstdint>

#include "service/core/byte_codec.h"
#include "service/core/storage_error.h"

namespace gatehouse {
namespace {

constexpr uint8_t kVersion = 1;
constexpr uint8_t kFlagLockout = 1;
constexpr uint8_t kFlagLockedAt = 2;
constexpr uint8_t kFlagAuditSequence = 4;
constexpr uint8_t kKnownFlags =
    kFlagLockout | kFlagLockedAt | kFlagAuditSequence;

absl::Status Corrupt(absl::string_view what) {
  return StorageError(
      StorageErrorKind::kCorrupt,
      std::string("corrupt counter value: ") + std::string(what));
}

}  // namespace

std::string EncodeCounterState(const CounterState& state) {
  std::string out;
  out.reserve(24 + state.buckets.size() * 3);
  out.push_back(static_cast<char>(kVersion));
  PutVarint(out,
            static_cast<uint64_t>(std::max<int64_t>(0, state.expires_at_ms)));
  PutVarint(out, static_cast<uint64_t>(std::max<int64_t>(0, state.bucket_ms)));
  PutVarint(out, state.buckets.size());
  int64_t prev = 0;
  for (const Bucket& b : state.buckets) {
    PutVarint(out, ZigZag(b.index - prev));
    PutVarint(out, b.count);
    prev = b.index;
  }
  const bool lockout = state.lockout_until_ms > 0 || state.offences > 0 ||
                       state.last_offence_ms > 0;
  // Each optional part only when non-zero: a state without them encodes
  // as it did before they existed.
  const bool locked_at = state.locked_at_ms > 0;
  const bool sequence = state.last_audit_sequence > 0;
  out.push_back(static_cast<char>((lockout ? kFlagLockout : 0) |
                                  (locked_at ? kFlagLockedAt : 0) |
                                  (sequence ? kFlagAuditSequence : 0)));
  if (lockout) {
    PutVarint(out, static_cast<uint64_t>(
                       std::max<int64_t>(0, state.lockout_until_ms)));
    PutVarint(out, state.offences);
    PutVarint(out, static_cast<uint64_t>(
                       std::max<int64_t>(0, state.last_offence_ms)));
  }
  if (locked_at) PutVarint(out, static_cast<uint64_t>(state.locked_at_ms));
  if (sequence) PutVarint(out, state.last_audit_sequence);
  return out;
}

absl::StatusOr<int64_t> DecodeExpiresAt(absl::string_view bytes) {
  ByteReader r(bytes);
  uint8_t version;
  if (!r.Byte(version) || version != kVersion) return Corrupt("version");
  int64_t expires;
  if (!r.Signed(expires)) return Corrupt("expires_at");
  return expires;
}

absl::StatusOr<CounterState> DecodeCounterState(absl::string_view bytes) {
  ByteReader r(bytes);
  CounterState s;
  uint8_t version;
  if (!r.Byte(version) || version != kVersion) return Corrupt("version");
  if (!r.Signed(s.expires_at_ms)) return Corrupt("expires_at");
  if (!r.Signed(s.bucket_ms)) return Corrupt("bucket_ms");
  uint64_t n;
  if (!r.Varint(n) || n > kMaxEncodedBuckets) return Corrupt("bucket count");
  if (n > 0 && s.bucket_ms == 0) return Corrupt("bucket_ms");
  s.buckets.reserve(n);
  int64_t prev = 0;
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t delta, count;
    if (!r.Varint(delta) || !r.Varint(count) || count == 0) {
      return Corrupt("bucket");
    }
    // Checked so a corrupt delta cannot overflow (undefined behaviour) and
    // wrap a descending index into a seemingly ascending one.
    const int64_t step = UnZigZag(delta);
    if (step > 0 ? prev > INT64_MAX - step : prev < INT64_MIN - step) {
      return Corrupt("bucket index");
    }
    const int64_t index = prev + step;
    if (i > 0 && index <= prev) return Corrupt("bucket order");
    s.buckets.push_back({index, count});
    prev = index;
  }
  uint8_t flags;
  if (!r.Byte(flags) || (flags & ~kKnownFlags) != 0) return Corrupt("flags");
  if (flags & kFlagLockout) {
    uint64_t offences;
    if (!r.Signed(s.lockout_until_ms) || !r.Varint(offences) ||
        offences > UINT32_MAX || !r.Signed(s.last_offence_ms)) {
      return Corrupt("lockout");
    }
    s.offences = static_cast<uint32_t>(offences);
  }
  // Present only when non-zero, so a zero is malformed.
  if ((flags & kFlagLockedAt) &&
      (!r.Signed(s.locked_at_ms) || s.locked_at_ms == 0)) {
    return Corrupt("locked_at");
  }
  if ((flags & kFlagAuditSequence) &&
      (!r.Varint(s.last_audit_sequence) || s.last_audit_sequence == 0)) {
    return Corrupt("last_audit_sequence");
  }
  if (!r.done()) return Corrupt("trailing bytes");
  return s;
}

}  // namespace gatehouse
