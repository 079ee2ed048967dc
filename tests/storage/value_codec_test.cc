#include "service/storage/value_codec.h"

#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "service/clock/simulated_clock.h"
#include "service/core/counter_state.h"
#include "service/core/in_memory_counter_store.h"
#include "service/core/limiter.h"
#include "service/core/policy.h"
#include "service/core/request.h"
#include "service/core/subject_key.h"

namespace gatehouse {
namespace {

constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();
constexpr int64_t kInt64Min = std::numeric_limits<int64_t>::min();

// Writes an encoding byte by byte, so tests can build malformed values the
// encoder would never produce.
class Bytes {
 public:
  Bytes& Byte(uint8_t b) {
    out_.push_back(static_cast<char>(b));
    return *this;
  }
  Bytes& Varint(uint64_t v) {
    while (v >= 0x80) {
      Byte(static_cast<uint8_t>((v & 0x7f) | 0x80));
      v >>= 7;
    }
    return Byte(static_cast<uint8_t>(v));
  }
  Bytes& ZigZag(int64_t v) {
    return Varint((static_cast<uint64_t>(v) << 1) ^
                  static_cast<uint64_t>(v >> 63));
  }
  // Version 1, expires_at 5000, bucket_ms 1000: a valid prefix.
  Bytes& Header() { return Byte(1).Varint(5000).Varint(1000); }

  const std::string& str() const { return out_; }

 private:
  std::string out_;
};

// Three buckets and every lockout field set: exercises each part of the
// format.
CounterState SampleState() {
  CounterState s;
  s.bucket_ms = 1000;
  s.buckets = {{1'700'000'000, 3}, {1'700'000'007, 1}, {1'700'000'059, 250}};
  s.lockout_until_ms = 1'700'000'900'000;
  s.offences = 3;
  s.last_offence_ms = 1'700'000'000'500;
  s.expires_at_ms = 1'700'086'400'000;
  return s;
}

std::string Hex(const std::string& bytes) {
  return absl::BytesToHexString(bytes);
}

void ExpectRoundTrip(const CounterState& state) {
  const std::string bytes = EncodeCounterState(state);
  absl::StatusOr<CounterState> decoded = DecodeCounterState(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.status() << " for " << Hex(bytes);
  EXPECT_EQ(*decoded, state) << Hex(bytes);
  absl::StatusOr<int64_t> expires = DecodeExpiresAt(bytes);
  ASSERT_TRUE(expires.ok()) << expires.status();
  EXPECT_EQ(*expires, state.expires_at_ms);
}

// DATA_LOSS whose message names `what`.
void ExpectDataLoss(const std::string& bytes, const std::string& what) {
  absl::StatusOr<CounterState> decoded = DecodeCounterState(bytes);
  ASSERT_FALSE(decoded.ok()) << "decoded " << Hex(bytes);
  EXPECT_EQ(decoded.status().code(), absl::StatusCode::kDataLoss)
      << decoded.status();
  EXPECT_TRUE(absl::StrContains(decoded.status().message(), what))
      << decoded.status() << ", expected to name " << what;
}

TEST(ValueCodecTest, EmptyStateRoundTripsInFiveBytes) {
  const std::string bytes = EncodeCounterState(CounterState{});
  // version, expires_at, bucket_ms, bucket count, flags.
  EXPECT_EQ(bytes, std::string("\x01\x00\x00\x00\x00", 5));
  ExpectRoundTrip(CounterState{});
}

TEST(ValueCodecTest, SampleStateWithBucketsAndLockoutRoundTrips) {
  ExpectRoundTrip(SampleState());
}

TEST(ValueCodecTest, LockoutFieldsRoundTripWithoutBuckets) {
  CounterState s;
  s.lockout_until_ms = 1'700'000'900'000;
  s.offences = 7;
  s.last_offence_ms = 1'700'000'000'000;
  s.expires_at_ms = 1'700'086'400'000;
  ExpectRoundTrip(s);
}

TEST(ValueCodecTest, EachLockoutFieldAloneRoundTrips) {
  CounterState until_only;
  until_only.lockout_until_ms = 42;
  CounterState offences_only;
  offences_only.offences = 1;
  CounterState last_only;
  last_only.last_offence_ms = 99;
  for (const CounterState& s : {until_only, offences_only, last_only}) {
    ExpectRoundTrip(s);
  }
}

TEST(ValueCodecTest, MaximumNumberOfBucketsRoundTrips) {
  CounterState s;
  s.bucket_ms = 250;
  s.expires_at_ms = 1'700'000'000'000;
  for (int64_t i = 0; i < static_cast<int64_t>(kMaxEncodedBuckets); ++i) {
    // Uneven gaps and counts from 1 to the largest representable.
    const uint64_t count =
        i % 3 == 0 ? std::numeric_limits<uint64_t>::max() : uint64_t(i) + 1;
    s.buckets.push_back({-100'000 + i * 37 + i % 5, count});
  }
  ASSERT_EQ(s.buckets.size(), 8192u);
  ExpectRoundTrip(s);
}

TEST(ValueCodecTest, NegativeAndLargeIndicesRoundTrip) {
  CounterState s;
  s.bucket_ms = 1;
  s.buckets = {
      {kInt64Min / 4, 1},     {-1'000'000, 2},   {-1, 3}, {0, 4}, {1, 5},
      {1'000'000'000'000, 6}, {kInt64Max / 4, 7}};
  s.expires_at_ms = 1;
  ExpectRoundTrip(s);
}

TEST(ValueCodecTest, ExtremeTimesAndOffencesRoundTrip) {
  CounterState s;
  s.bucket_ms = kInt64Max;
  s.buckets = {{kInt64Max, 1}};
  s.lockout_until_ms = kInt64Max;
  s.offences = std::numeric_limits<uint32_t>::max();
  s.last_offence_ms = kInt64Max;
  s.expires_at_ms = kInt64Max;
  ExpectRoundTrip(s);
}

// A permanent lockout (lockout.permanent_after) is a lockout ending at
// kLockedUntilUnblockedMs, in the version 1 format: values written before it
// decode as before, and a binary from before it decodes it too.
TEST(ValueCodecTest, PermanentLockoutIsStoredInTheVersionOneFormat) {
  CounterState s;
  s.lockout_until_ms = kLockedUntilUnblockedMs;
  s.offences = 3;
  s.last_offence_ms = 1000;
  s.expires_at_ms = kLockedUntilUnblockedMs;
  const std::string max = std::string(8, '\xff') + "\x7f";
  const std::string want =
      "\x01" + max + std::string("\x00\x00\x01", 3) + max + "\x03\xe8\x07";
  EXPECT_EQ(absl::BytesToHexString(EncodeCounterState(s)),
            absl::BytesToHexString(want));
  absl::StatusOr<CounterState> decoded = DecodeCounterState(want);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, s);
  EXPECT_EQ(DecodeExpiresAt(want).value(), kLockedUntilUnblockedMs);
}

// locked_at_ms and last_audit_sequence (the lockout index, the audit
// trail of a state) each take a flag bit and a varint, only when non-zero.
TEST(ValueCodecTest, LockedAtAndAuditSequenceRoundTripAloneAndTogether) {
  CounterState locked_at_only;
  locked_at_only.locked_at_ms = 1;
  CounterState sequence_only;
  sequence_only.last_audit_sequence = 1;
  CounterState both = SampleState();
  both.locked_at_ms = 1'700'000'000'500;
  both.last_audit_sequence = std::numeric_limits<uint64_t>::max();
  CounterState permanent = both;
  permanent.lockout_until_ms = kLockedUntilUnblockedMs;
  permanent.locked_at_ms = kInt64Max;
  for (const CounterState& s :
       {locked_at_only, sequence_only, both, permanent}) {
    ExpectRoundTrip(s);
  }
}

TEST(ValueCodecTest, LockedAtAndAuditSequenceFollowTheLockoutFields) {
  CounterState s;
  s.offences = 2;
  s.locked_at_ms = 1000;
  s.last_audit_sequence = 5;
  // version, expires_at, bucket_ms, bucket count, flags 0b111,
  // lockout_until 0, offences 2, last_offence 0, locked_at 1000 (e8 07),
  // last_audit_sequence 5.
  const std::string want("\x01\x00\x00\x00\x07\x00\x02\x00\xe8\x07\x05", 11);
  EXPECT_EQ(Hex(EncodeCounterState(s)), Hex(want));
  absl::StatusOr<CounterState> decoded = DecodeCounterState(want);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, s);
}

// Values stored before the two fields existed decode unchanged, and a state
// without them is stored in exactly those bytes (SampleState pinned here as
// the encoder wrote it before).
TEST(ValueCodecTest, StateWithoutIndexFieldsEncodesAsBefore) {
  const std::string before = absl::HexStringToBytes(
      "018088afa8bd31e8070380c49fd50c030e0168fa0101a0c7ccffbc31"
      "03f4d395ffbc31");
  EXPECT_EQ(Hex(EncodeCounterState(SampleState())), Hex(before));
  absl::StatusOr<CounterState> decoded = DecodeCounterState(before);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, SampleState());
  EXPECT_EQ(decoded->locked_at_ms, 0);
  EXPECT_EQ(decoded->last_audit_sequence, 0u);
}

TEST(ValueCodecTest, ZeroOrMissingLockedAtIsDataLoss) {
  ExpectDataLoss(Bytes().Header().Varint(0).Byte(2).Varint(0).str(),
                 "locked_at");
  ExpectDataLoss(Bytes().Header().Varint(0).Byte(2).str(), "locked_at");
  // Above int64.
  ExpectDataLoss(
      Bytes().Header().Varint(0).Byte(2).Varint(uint64_t{1} << 63).str(),
      "locked_at");
}

TEST(ValueCodecTest, ZeroOrMissingAuditSequenceIsDataLoss) {
  ExpectDataLoss(Bytes().Header().Varint(0).Byte(4).Varint(0).str(),
                 "last_audit_sequence");
  ExpectDataLoss(Bytes().Header().Varint(0).Byte(6).Varint(7).str(),
                 "last_audit_sequence");
  // Eleven varint bytes: more than 64 bits.
  Bytes overlong;
  overlong.Header().Varint(0).Byte(4);
  for (int i = 0; i < 10; ++i) overlong.Byte(0xff);
  overlong.Byte(0x01);
  ExpectDataLoss(overlong.str(), "last_audit_sequence");
}

TEST(ValueCodecTest, SingleHitStateEncodesInSeventeenBytes) {
  // One hit at 2023-11-14 in a one-minute window of 60 one-second buckets.
  CounterState s;
  s.bucket_ms = 1000;
  s.buckets = {{1'700'000'000, 1}};
  s.expires_at_ms = 1'700'000'061'000;
  // 1 version + 6 expires_at + 2 bucket_ms + 1 count + 5 index + 1 hits +
  // 1 flags.
  EXPECT_EQ(EncodeCounterState(s).size(), 17u);
}

TEST(ValueCodecTest, StateTheLimiterWritesForOneHitIsAtMostTwentyBytes) {
  SimulatedClock clock(absl::FromUnixSeconds(1'700'000'000));
  InMemoryCounterStore store;
  Policy policy;
  policy.name = "login_ip";
  policy.dimensions = {"ip"};
  policy.limit = 20;
  policy.window = absl::Minutes(1);
  Limiter limiter(
      &clock, &store,
      std::make_shared<const PolicySet>(std::vector<Policy>{policy}));
  SubjectRequest subject;
  subject.policy = "login_ip";
  subject.key = {{"ip", "203.0.113.7"}};
  Request request;
  request.subjects = {subject};
  ASSERT_TRUE(limiter.Record(request).ok());

  absl::StatusOr<std::string> key =
      DeriveStorageKey(policy, subject.key, "subject");
  ASSERT_TRUE(key.ok()) << key.status();
  absl::StatusOr<std::optional<CounterState>> stored = store.Read(*key);
  ASSERT_TRUE(stored.ok()) << stored.status();
  ASSERT_TRUE(stored->has_value());
  ASSERT_EQ((*stored)->buckets.size(), 1u);
  EXPECT_EQ((*stored)->buckets[0].count, 1u);
  EXPECT_LE(EncodeCounterState(**stored).size(), 20u);
}

TEST(ValueCodecTest, DecodeExpiresAtReadsOnlyTheFirstField) {
  // Version and expires_at alone are enough; the rest is not looked at.
  const std::string prefix = Bytes().Byte(1).Varint(1'700'086'400'000).str();
  absl::StatusOr<int64_t> expires = DecodeExpiresAt(prefix);
  ASSERT_TRUE(expires.ok()) << expires.status();
  EXPECT_EQ(*expires, 1'700'086'400'000);
}

TEST(ValueCodecTest, EveryTruncationIsDataLoss) {
  CounterState lockout_only;
  lockout_only.offences = 2;
  lockout_only.expires_at_ms = 10;
  CounterState indexed = SampleState();
  indexed.locked_at_ms = 1'700'000'000'500;
  indexed.last_audit_sequence = 123'456'789;
  for (const CounterState& state :
       {SampleState(), CounterState{}, lockout_only, indexed}) {
    const std::string bytes = EncodeCounterState(state);
    for (size_t len = 0; len < bytes.size(); ++len) {
      SCOPED_TRACE(testing::Message()
                   << "length " << len << " of " << bytes.size());
      ExpectDataLoss(bytes.substr(0, len), "corrupt counter value");
    }
  }
}

TEST(ValueCodecTest, DecodeExpiresAtNeedsTheWholeExpiryVarint) {
  const std::string bytes = EncodeCounterState(SampleState());
  // 1'700'086'400'000 needs 41 bits: six varint bytes after the version.
  for (size_t len = 0; len < bytes.size(); ++len) {
    absl::StatusOr<int64_t> expires = DecodeExpiresAt(bytes.substr(0, len));
    if (len < 7) {
      EXPECT_EQ(expires.status().code(), absl::StatusCode::kDataLoss)
          << "length " << len;
    } else {
      ASSERT_TRUE(expires.ok()) << "length " << len << ": " << expires.status();
      EXPECT_EQ(*expires, 1'700'086'400'000);
    }
  }
}

TEST(ValueCodecTest, UnknownVersionIsDataLoss) {
  const std::string valid = EncodeCounterState(SampleState());
  for (uint8_t version : {0x00, 0x02, 0x81, 0xff}) {
    std::string bytes = valid;
    bytes[0] = static_cast<char>(version);
    SCOPED_TRACE(testing::Message() << "version " << int(version));
    ExpectDataLoss(bytes, "version");
    EXPECT_EQ(DecodeExpiresAt(bytes).status().code(),
              absl::StatusCode::kDataLoss);
  }
}

TEST(ValueCodecTest, TrailingBytesAreDataLoss) {
  const std::string valid = EncodeCounterState(SampleState());
  ExpectDataLoss(valid + std::string(1, '\0'), "trailing bytes");
  ExpectDataLoss(valid + "x", "trailing bytes");
  ExpectDataLoss(EncodeCounterState(CounterState{}) + valid, "trailing bytes");
}

TEST(ValueCodecTest, RepeatedBucketIndexIsDataLoss) {
  const std::string bytes = Bytes()
                                .Header()
                                .Varint(2)
                                .ZigZag(5)
                                .Varint(1)
                                .ZigZag(0)  // Index 5 again.
                                .Varint(1)
                                .Byte(0)
                                .str();
  ExpectDataLoss(bytes, "bucket order");
}

TEST(ValueCodecTest, DescendingBucketIndexIsDataLoss) {
  const std::string bytes = Bytes()
                                .Header()
                                .Varint(2)
                                .ZigZag(5)
                                .Varint(1)
                                .ZigZag(-1)  // Index 4.
                                .Varint(1)
                                .Byte(0)
                                .str();
  ExpectDataLoss(bytes, "bucket order");
}

TEST(ValueCodecTest, DescendingDeltaThatWrapsAroundIsDataLoss) {
  // A negative step from near the lowest index must not wrap to a high,
  // seemingly ascending one.
  const std::string bytes = Bytes()
                                .Header()
                                .Varint(2)
                                .ZigZag(kInt64Min + 5)
                                .Varint(1)
                                .ZigZag(-10)
                                .Varint(1)
                                .Byte(0)
                                .str();
  ExpectDataLoss(bytes, "bucket");
}

TEST(ValueCodecTest, ZeroCountIsDataLoss) {
  ExpectDataLoss(Bytes().Header().Varint(1).ZigZag(7).Varint(0).Byte(0).str(),
                 "bucket");
  ExpectDataLoss(Bytes()
                     .Header()
                     .Varint(2)
                     .ZigZag(7)
                     .Varint(4)
                     .ZigZag(1)
                     .Varint(0)
                     .Byte(0)
                     .str(),
                 "bucket");
}

TEST(ValueCodecTest, MoreThanMaximumBucketsIsDataLoss) {
  CounterState s;
  s.bucket_ms = 1;
  for (int64_t i = 0; i <= static_cast<int64_t>(kMaxEncodedBuckets); ++i) {
    s.buckets.push_back({i, 1});
  }
  ASSERT_EQ(s.buckets.size(), 8193u);
  ExpectDataLoss(EncodeCounterState(s), "bucket count");
  // A huge count is rejected before anything is allocated for it.
  ExpectDataLoss(
      Bytes().Header().Varint(std::numeric_limits<uint64_t>::max()).str(),
      "bucket count");
}

TEST(ValueCodecTest, BucketsWithZeroWidthAreDataLoss) {
  ExpectDataLoss(Bytes()
                     .Byte(1)
                     .Varint(5000)
                     .Varint(0)
                     .Varint(1)
                     .ZigZag(3)
                     .Varint(1)
                     .Byte(0)
                     .str(),
                 "bucket_ms");
}

TEST(ValueCodecTest, UnknownFlagBitsAreDataLoss) {
  for (uint8_t flags : {0x08, 0x09, 0x0f, 0x80, 0xff}) {
    SCOPED_TRACE(testing::Message() << "flags " << int(flags));
    ExpectDataLoss(Bytes().Header().Varint(0).Byte(flags).str(), "flags");
  }
}

TEST(ValueCodecTest, OffencesAboveUint32AreDataLoss) {
  ExpectDataLoss(Bytes()
                     .Header()
                     .Varint(0)
                     .Byte(1)
                     .Varint(10)
                     .Varint(uint64_t{1} << 32)
                     .Varint(10)
                     .str(),
                 "lockout");
}

TEST(ValueCodecTest, TimesAboveInt64AreDataLoss) {
  const uint64_t too_big = uint64_t{1} << 63;
  ExpectDataLoss(Bytes().Byte(1).Varint(too_big).str(), "expires_at");
  EXPECT_EQ(
      DecodeExpiresAt(Bytes().Byte(1).Varint(too_big).str()).status().code(),
      absl::StatusCode::kDataLoss);
  ExpectDataLoss(Bytes().Byte(1).Varint(1).Varint(too_big).str(), "bucket_ms");
  ExpectDataLoss(Bytes()
                     .Header()
                     .Varint(0)
                     .Byte(1)
                     .Varint(too_big)
                     .Varint(1)
                     .Varint(1)
                     .str(),
                 "lockout");
}

TEST(ValueCodecTest, OverlongVarintIsDataLoss) {
  // Eleven continuation bytes: longer than any 64-bit varint.
  Bytes endless;
  endless.Byte(1);
  for (int i = 0; i < 11; ++i) endless.Byte(0x80);
  ExpectDataLoss(endless.str(), "expires_at");
  // Ten bytes whose last carries bits beyond 64.
  Bytes overflowing;
  overflowing.Byte(1);
  for (int i = 0; i < 9; ++i) overflowing.Byte(0xff);
  overflowing.Byte(0x02);
  ExpectDataLoss(overflowing.str(), "expires_at");
}

// Every outcome of decoding arbitrary bytes is either DATA_LOSS or a state
// that survives re-encoding unchanged. Returns how many decoded.
int CheckArbitraryInput(const std::string& bytes) {
  absl::StatusOr<int64_t> expires = DecodeExpiresAt(bytes);
  if (!expires.ok()) {
    EXPECT_EQ(expires.status().code(), absl::StatusCode::kDataLoss)
        << Hex(bytes);
  }
  absl::StatusOr<CounterState> decoded = DecodeCounterState(bytes);
  if (!decoded.ok()) {
    EXPECT_EQ(decoded.status().code(), absl::StatusCode::kDataLoss)
        << Hex(bytes);
    return 0;
  }
  EXPECT_TRUE(expires.ok()) << Hex(bytes);
  if (expires.ok()) {
    EXPECT_EQ(*expires, decoded->expires_at_ms);
  }
  absl::StatusOr<CounterState> again =
      DecodeCounterState(EncodeCounterState(*decoded));
  EXPECT_TRUE(again.ok()) << Hex(bytes);
  if (again.ok()) {
    EXPECT_EQ(*again, *decoded) << Hex(bytes);
  }
  return 1;
}

TEST(ValueCodecTest, RandomBytesAreDataLossOrStableStates) {
  std::mt19937 rng(20240601);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<size_t> length(0, 48);
  int decoded = 0;
  constexpr int kInputs = 4000;
  for (int i = 0; i < kInputs; ++i) {
    std::string bytes(length(rng), '\0');
    for (char& c : bytes) c = static_cast<char>(byte(rng));
    // Half start with the right version so decoding gets past the first byte.
    if (i % 2 == 0 && !bytes.empty()) bytes[0] = 1;
    decoded += CheckArbitraryInput(bytes);
  }
  EXPECT_LT(decoded, kInputs);
}

TEST(ValueCodecTest, MutatedEncodingsAreDataLossOrStableStates) {
  std::mt19937 rng(7);
  const std::string valid = EncodeCounterState(SampleState());
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<int> action(0, 2);
  int decoded = 0;
  constexpr int kInputs = 4000;
  for (int i = 0; i < kInputs; ++i) {
    std::string bytes = valid;
    for (int edits = 1 + i % 3; edits > 0; --edits) {
      const size_t pos =
          std::uniform_int_distribution<size_t>(0, bytes.size() - 1)(rng);
      switch (action(rng)) {
        case 0:  // Replace a byte.
          bytes[pos] = static_cast<char>(byte(rng));
          break;
        case 1:  // Insert a byte.
          bytes.insert(bytes.begin() + pos, static_cast<char>(byte(rng)));
          break;
        default:  // Delete a byte, keeping at least one.
          if (bytes.size() > 1) bytes.erase(pos, 1);
          break;
      }
    }
    decoded += CheckArbitraryInput(bytes);
  }
  // Both outcomes occur: the check above saw real states and real failures.
  EXPECT_GT(decoded, 0);
  EXPECT_LT(decoded, kInputs);
}

}  // namespace
}  // namespace gatehouse
