#include "service/storage/lockout_codec.h"

#include <cstdint>
#include <limits>
#include <random>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "service/core/byte_codec.h"
#include "service/core/counter_state.h"
#include "service/core/lockout_index.h"

namespace gatehouse {
namespace {

LockoutEntry SampleEntry() {
  LockoutEntry e;
  e.policy = "login_ip_user";
  e.storage_key = std::string(
      "c\x0d"
      "login_ip_user\x0b"
      "203.0.113.7",
      27);
  e.locked_at_ms = 1'700'000'000'500;
  e.locked_until_ms = 1'700'000'900'500;
  e.offences = 3;
  e.reason = "credential stuffing, ticket INC-42";
  e.blocked_by = "oncall-cli";
  e.key = {{"ip", "203.0.113.7"}, {"user", "p:9f86d081884c7d65"}};
  return e;
}

void ExpectSame(const LockoutEntry& actual, const LockoutEntry& expected) {
  EXPECT_EQ(actual.policy, expected.policy);
  EXPECT_EQ(actual.storage_key, expected.storage_key);
  EXPECT_EQ(actual.locked_at_ms, expected.locked_at_ms);
  EXPECT_EQ(actual.locked_until_ms, expected.locked_until_ms);
  EXPECT_EQ(actual.offences, expected.offences);
  EXPECT_EQ(actual.reason, expected.reason);
  EXPECT_EQ(actual.blocked_by, expected.blocked_by);
  EXPECT_EQ(actual.key, expected.key);
}

void ExpectRoundTrip(const LockoutEntry& entry) {
  const std::string bytes = EncodeLockoutEntry(entry);
  absl::StatusOr<LockoutEntry> decoded = DecodeLockoutEntry(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ExpectSame(*decoded, entry);
  absl::StatusOr<int64_t> until = DecodeLockedUntil(bytes);
  ASSERT_TRUE(until.ok()) << until.status();
  EXPECT_EQ(*until, entry.locked_until_ms);
}

void ExpectDataLoss(const std::string& bytes, const std::string& what) {
  absl::StatusOr<LockoutEntry> decoded = DecodeLockoutEntry(bytes);
  ASSERT_FALSE(decoded.ok()) << absl::BytesToHexString(bytes);
  EXPECT_EQ(decoded.status().code(), absl::StatusCode::kDataLoss)
      << decoded.status();
  EXPECT_TRUE(absl::StrContains(decoded.status().message(), what))
      << decoded.status() << ", expected to name " << what;
}

// Version 1 with the given numbers, then the strings and parts as given.
std::string Encoded(uint64_t until, uint64_t at, uint64_t offences) {
  std::string out(1, '\x01');
  PutVarint(out, until);
  PutVarint(out, at);
  PutVarint(out, offences);
  return out;
}

TEST(LockoutCodecTest, EveryFieldRoundTrips) { ExpectRoundTrip(SampleEntry()); }

TEST(LockoutCodecTest, PermanentAndMinimalEntriesRoundTrip) {
  LockoutEntry permanent = SampleEntry();
  permanent.locked_until_ms = kLockedUntilUnblockedMs;
  permanent.offences = std::numeric_limits<uint32_t>::max();
  ExpectRoundTrip(permanent);
  LockoutEntry minimal;
  minimal.policy = "p";
  minimal.storage_key = "c";
  ExpectRoundTrip(minimal);
}

TEST(LockoutCodecTest, LockedUntilComesFirstAfterTheVersion) {
  LockoutEntry e;
  e.policy = "p";
  e.storage_key = "ck";
  e.locked_until_ms = 1000;
  e.locked_at_ms = 5;
  e.offences = 2;
  e.reason = "r";
  e.key = {{"ip", "x"}};
  // version, until 1000, at 5, offences 2, "p", "ck", "r", "", 1 part,
  // "ip", "x".
  const std::string want(
      "\x01\xe8\x07\x05\x02\x01p\x02"
      "ck\x01r\x00\x01\x02ip\x01x",
      19);
  EXPECT_EQ(absl::BytesToHexString(EncodeLockoutEntry(e)),
            absl::BytesToHexString(want));
  // Only the version and locked_until are read by DecodeLockedUntil.
  std::string prefix(1, '\x01');
  PutVarint(prefix, kLockedUntilUnblockedMs);
  EXPECT_EQ(DecodeLockedUntil(prefix).value(), kLockedUntilUnblockedMs);
}

TEST(LockoutCodecTest, EveryTruncationIsDataLoss) {
  const std::string bytes = EncodeLockoutEntry(SampleEntry());
  for (size_t len = 0; len < bytes.size(); ++len) {
    SCOPED_TRACE(len);
    ExpectDataLoss(bytes.substr(0, len), "corrupt lockout entry");
  }
}

TEST(LockoutCodecTest, MalformedPartsAreDataLossNamingThePart) {
  ExpectDataLoss("", "version");
  ExpectDataLoss("\x02", "version");
  ExpectDataLoss(EncodeLockoutEntry(SampleEntry()) + "x", "trailing bytes");
  ExpectDataLoss(Encoded(uint64_t{1} << 63, 1, 1), "locked_until");
  ExpectDataLoss(Encoded(10, uint64_t{1} << 63, 1), "locked_at");
  ExpectDataLoss(Encoded(10, 1, uint64_t{1} << 32), "offences");
  std::string empty_policy = Encoded(10, 1, 1);
  PutBytes(empty_policy, "");
  ExpectDataLoss(empty_policy, "policy");
  std::string empty_key = Encoded(10, 1, 1);
  PutBytes(empty_key, "p");
  PutBytes(empty_key, "");
  ExpectDataLoss(empty_key, "storage_key");
  std::string too_long = Encoded(10, 1, 1);
  PutBytes(too_long, "p");
  PutVarint(too_long, kMaxLockoutFieldBytes + 1);
  too_long.append(kMaxLockoutFieldBytes + 1, 'k');
  ExpectDataLoss(too_long, "storage_key");
  std::string many_parts = Encoded(10, 1, 1);
  for (const char* s : {"p", "k", "", ""}) PutBytes(many_parts, s);
  PutVarint(many_parts, kMaxLockoutKeyParts + 1);
  for (uint64_t i = 0; i <= kMaxLockoutKeyParts; ++i) {
    PutBytes(many_parts, "d");
    PutBytes(many_parts, "v");
  }
  ExpectDataLoss(many_parts, "key parts");
  // A length running past the end.
  std::string past_end = Encoded(10, 1, 1);
  PutVarint(past_end, 5);
  past_end += "abc";
  ExpectDataLoss(past_end, "policy");
}

// Arbitrary edits of a valid value decode as DATA_LOSS or as an entry that
// encodes back to the very same bytes; never a crash or a read past the end
// (the ASan build checks that).
TEST(LockoutCodecTest, MutatedEncodingsAreDataLossOrExactEntries) {
  std::mt19937 rng(19);
  const std::string valid = EncodeLockoutEntry(SampleEntry());
  std::uniform_int_distribution<int> byte(0, 255);
  int decoded = 0, lost = 0;
  for (int i = 0; i < 4000; ++i) {
    std::string bytes = valid;
    for (int edits = 1 + i % 3; edits > 0; --edits) {
      const size_t pos =
          std::uniform_int_distribution<size_t>(0, bytes.size() - 1)(rng);
      switch (i % 3) {
        case 0:
          bytes[pos] = static_cast<char>(byte(rng));
          break;
        case 1:
          bytes.insert(bytes.begin() + pos, static_cast<char>(byte(rng)));
          break;
        default:
          if (bytes.size() > 1) bytes.erase(pos, 1);
          break;
      }
    }
    absl::StatusOr<LockoutEntry> entry = DecodeLockoutEntry(bytes);
    if (entry.ok()) {
      ++decoded;
      absl::StatusOr<LockoutEntry> again =
          DecodeLockoutEntry(EncodeLockoutEntry(*entry));
      ASSERT_TRUE(again.ok()) << absl::BytesToHexString(bytes);
      ExpectSame(*again, *entry);
    } else {
      ++lost;
      EXPECT_EQ(entry.status().code(), absl::StatusCode::kDataLoss);
    }
  }
  EXPECT_GT(decoded, 0);
  EXPECT_GT(lost, 0);
}

}  // namespace
}  // namespace gatehouse
