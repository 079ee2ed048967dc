// Fuzzes the storage value codec. The first byte chooses the mode:
//
//   even  the rest is a stored value: decoding either fails with DATA_LOSS
//         or gives a state that encodes to a value decoding to the same
//         state (and DecodeExpiresAt agrees);
//   odd   the rest describes a valid CounterState, which must encode and
//         decode back to itself.

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/string_view.h"
#include "service/storage/value_codec.h"
#include "tests/fuzz/fuzz_util.h"

namespace gatehouse {
namespace {

std::string Hex(absl::string_view bytes) {
  return absl::BytesToHexString(bytes);
}

void CheckRoundTrip(const CounterState& state, absl::string_view origin) {
  const std::string encoded = EncodeCounterState(state);
  const absl::StatusOr<CounterState> decoded = DecodeCounterState(encoded);
  FUZZ_CHECK(decoded.ok(), decoded.status().ToString() + " re-decoding " +
                               Hex(encoded) + " from " + Hex(origin));
  FUZZ_CHECK(*decoded == state, "round trip changed the state: " +
                                    Hex(encoded) + " from " + Hex(origin));
  // The encoding of a state is canonical.
  FUZZ_CHECK(EncodeCounterState(*decoded) == encoded, Hex(encoded));
  const absl::StatusOr<int64_t> expires = DecodeExpiresAt(encoded);
  FUZZ_CHECK(expires.ok() && *expires == state.expires_at_ms, Hex(encoded));
}

void FuzzDecode(absl::string_view bytes) {
  const absl::StatusOr<CounterState> decoded = DecodeCounterState(bytes);
  const absl::StatusOr<int64_t> expires = DecodeExpiresAt(bytes);
  if (!decoded.ok()) {
    FUZZ_CHECK(decoded.status().code() == absl::StatusCode::kDataLoss,
               decoded.status().ToString());
    FUZZ_CHECK(
        expires.ok() || expires.status().code() == absl::StatusCode::kDataLoss,
        expires.status().ToString());
    return;
  }
  FUZZ_CHECK(expires.ok() && *expires == decoded->expires_at_ms, Hex(bytes));
  const CounterState& s = *decoded;
  FUZZ_CHECK(s.buckets.size() <= kMaxEncodedBuckets, Hex(bytes));
  FUZZ_CHECK(s.buckets.empty() || s.bucket_ms > 0, Hex(bytes));
  for (size_t i = 0; i < s.buckets.size(); ++i) {
    FUZZ_CHECK(s.buckets[i].count > 0, Hex(bytes));
    FUZZ_CHECK(i == 0 || s.buckets[i - 1].index < s.buckets[i].index,
               Hex(bytes));
  }
  FUZZ_CHECK(s.expires_at_ms >= 0 && s.bucket_ms >= 0 &&
                 s.lockout_until_ms >= 0 && s.last_offence_ms >= 0,
             Hex(bytes));
  CheckRoundTrip(s, bytes);
}

int64_t NonNegative(fuzz::FuzzInput& in) {
  return static_cast<int64_t>(in.Uint(8) >> 1);
}

void FuzzState(fuzz::FuzzInput& in, absl::string_view bytes) {
  CounterState s;
  s.expires_at_ms = NonNegative(in);
  const size_t n = in.Byte() % 64;
  s.bucket_ms = n > 0 ? 1 + NonNegative(in) / 2 : NonNegative(in);
  int64_t index = static_cast<int64_t>(in.Uint(8));
  for (size_t i = 0; i < n; ++i) {
    uint64_t count = in.Uint(in.Byte() % 9);
    if (count == 0) count = 1;
    s.buckets.push_back({index, count});
    // Ascending without overflow; steps up to 2^62 keep index + step in
    // range for any index <= 0.
    const uint64_t step = 1 + (in.Bool() ? in.Uint(8) >> 2 : in.Byte());
    if (index > 0 && step > static_cast<uint64_t>(INT64_MAX - index)) break;
    index += static_cast<int64_t>(step);
  }
  if (in.Bool()) {
    s.lockout_until_ms = NonNegative(in);
    s.offences = static_cast<uint32_t>(in.Uint(4));
    s.last_offence_ms = NonNegative(in);
  }
  CheckRoundTrip(s, bytes);
}

}  // namespace
}  // namespace gatehouse

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace gatehouse;
  if (size == 0) return 0;
  const absl::string_view rest(reinterpret_cast<const char*>(data) + 1,
                               size - 1);
  if ((data[0] & 1) == 0) {
    FuzzDecode(rest);
  } else {
    fuzz::FuzzInput in(data + 1, size - 1);
    FuzzState(in, rest);
  }
  return 0;
}
