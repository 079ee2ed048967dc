#include "service/config/duration.h"

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace gatehouse {
namespace {

struct Accepted {
  std::string text;
  absl::Duration want;
};

class ParseConfigDurationAcceptsTest
    : public ::testing::TestWithParam<Accepted> {};

TEST_P(ParseConfigDurationAcceptsTest, ParsesToTheExactDuration) {
  absl::StatusOr<absl::Duration> d = ParseConfigDuration(GetParam().text);
  ASSERT_TRUE(d.ok()) << GetParam().text << ": " << d.status();
  EXPECT_EQ(*d, GetParam().want) << GetParam().text;
}

INSTANTIATE_TEST_SUITE_P(
    Units, ParseConfigDurationAcceptsTest,
    ::testing::Values(
        Accepted{"500ms", absl::Milliseconds(500)},
        Accepted{"1ms", absl::Milliseconds(1)},
        Accepted{"30s", absl::Seconds(30)}, Accepted{"15m", absl::Minutes(15)},
        Accepted{"36h", absl::Hours(36)}, Accepted{"90d", absl::Hours(90 * 24)},
        Accepted{"1h30m", absl::Minutes(90)},
        Accepted{"1d2h3m4s5ms", absl::Hours(26) + absl::Minutes(3) +
                                    absl::Seconds(4) + absl::Milliseconds(5)},
        Accepted{"0h5m", absl::Minutes(5)},
        Accepted{"1000000000s", absl::Seconds(1'000'000'000)}));

class ParseConfigDurationRejectsTest
    : public ::testing::TestWithParam<std::string> {};

TEST_P(ParseConfigDurationRejectsTest, IsInvalidArgumentQuotingTheText) {
  absl::StatusOr<absl::Duration> d = ParseConfigDuration(GetParam());
  ASSERT_FALSE(d.ok()) << "accepted \"" << GetParam() << "\" as " << *d;
  EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(d.status().message(),
                                "\"" + GetParam() + "\" is not a duration"))
      << d.status();
}

INSTANTIATE_TEST_SUITE_P(
    Malformed, ParseConfigDurationRejectsTest,
    ::testing::Values("", "0s", "0ms", "0h0m", "15x", "-1m", "1.5h", "m", "15",
                      "1h30", "5M", "5mm", " 5m", "5m ", "5 m", "+5m",
                      "1000000001s", "1h-30m",
                      "1111111111111111111111111111111111s"));

TEST(FormatConfigDurationTest, UsesTheLargestExactUnit) {
  EXPECT_EQ(FormatConfigDuration(absl::Milliseconds(500)), "500ms");
  EXPECT_EQ(FormatConfigDuration(absl::Seconds(30)), "30s");
  EXPECT_EQ(FormatConfigDuration(absl::Minutes(15)), "15m");
  EXPECT_EQ(FormatConfigDuration(absl::Hours(36)), "36h");
  EXPECT_EQ(FormatConfigDuration(absl::Hours(90 * 24)), "90d");
  EXPECT_EQ(FormatConfigDuration(absl::Minutes(90)), "90m");
  EXPECT_EQ(FormatConfigDuration(absl::Milliseconds(1500)), "1500ms");
}

TEST(FormatConfigDurationTest, OutputParsesBackToTheSameDuration) {
  for (absl::Duration d :
       {absl::Milliseconds(1), absl::Milliseconds(1500), absl::Seconds(59),
        absl::Minutes(90), absl::Hours(25), absl::Hours(24 * 400)}) {
    absl::StatusOr<absl::Duration> back =
        ParseConfigDuration(FormatConfigDuration(d));
    ASSERT_TRUE(back.ok()) << FormatConfigDuration(d) << ": " << back.status();
    EXPECT_EQ(*back, d);
  }
}

}  // namespace
}  // namespace gatehouse
