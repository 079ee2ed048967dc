#include "service/storage/expiry_compaction_filter.h"

#include <cstdint>
#include <string>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "service/clock/simulated_clock.h"
#include "service/core/counter_state.h"
#include "service/storage/value_codec.h"

namespace gatehouse {
namespace {

constexpr int64_t kNowMs = 1'700'000'000'000;

std::string ValueExpiringAt(int64_t expires_at_ms) {
  CounterState s;
  s.bucket_ms = 1000;
  s.buckets = {{1'699'999'990, 4}};
  s.expires_at_ms = expires_at_ms;
  return EncodeCounterState(s);
}

class ExpiryCompactionFilterTest : public ::testing::Test {
 protected:
  // Whether the filter drops `value` stored under `key` now.
  bool Drops(const std::string& key, const std::string& value) {
    std::string new_value;
    bool value_changed = false;
    const bool drop =
        filter_.Filter(/*level=*/1, rocksdb::Slice(key), rocksdb::Slice(value),
                       &new_value, &value_changed);
    EXPECT_FALSE(value_changed) << "the filter only drops, never rewrites";
    return drop;
  }

  SimulatedClock clock_{absl::FromUnixMillis(kNowMs)};
  ExpiryCompactionFilter filter_{&clock_};
};

TEST_F(ExpiryCompactionFilterTest, DropsCounterWhoseExpiryHasPassed) {
  EXPECT_TRUE(Drops("c-key", ValueExpiringAt(kNowMs - 1)));
  EXPECT_TRUE(Drops("c-key", ValueExpiringAt(0)));
}

TEST_F(ExpiryCompactionFilterTest, DropsCounterExpiringExactlyNow) {
  EXPECT_TRUE(Drops("c-key", ValueExpiringAt(kNowMs)));
}

TEST_F(ExpiryCompactionFilterTest, KeepsCounterThatHasNotExpired) {
  EXPECT_FALSE(Drops("c-key", ValueExpiringAt(kNowMs + 1)));
  EXPECT_FALSE(Drops("c-key", ValueExpiringAt(kNowMs + 86'400'000)));
}

TEST_F(ExpiryCompactionFilterTest, DecidesByTheClockAtCompactionTime) {
  const std::string value = ValueExpiringAt(kNowMs + 60'000);
  EXPECT_FALSE(Drops("c-key", value));
  clock_.Advance(absl::Seconds(59));
  EXPECT_FALSE(Drops("c-key", value));
  clock_.Advance(absl::Seconds(1));
  EXPECT_TRUE(Drops("c-key", value));
}

TEST_F(ExpiryCompactionFilterTest, KeepsRecordsThatAreNotCounters) {
  const std::string expired = ValueExpiringAt(kNowMs - 1);
  EXPECT_FALSE(Drops("a-audit-record", expired));
  EXPECT_FALSE(Drops("m-metadata", expired));
  EXPECT_FALSE(Drops("", expired));
}

TEST_F(ExpiryCompactionFilterTest, KeepsCorruptCounterValues) {
  EXPECT_FALSE(Drops("c-key", ""));
  EXPECT_FALSE(Drops("c-key", std::string("\x02\x01", 2)));  // Bad version.
  EXPECT_FALSE(Drops("c-key", std::string("\x01\x80", 2)));  // Cut varint.
}

TEST_F(ExpiryCompactionFilterTest, ReportsAStableName) {
  EXPECT_STREQ(filter_.Name(), "gatehouse.ExpiryCompactionFilter");
}

}  // namespace
}  // namespace gatehouse
