#include "client/cli_args.h"

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace gatehouse::cli {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;
using ::testing::StartsWith;

// gMock's string matchers take std::string; Debian's absl::string_view is
// not std::string_view.
template <typename T>
std::string Message(const absl::StatusOr<T>& parsed) {
  return std::string(parsed.status().message());
}

TEST(ParseKeyValueListTest, ParsesNameValuePairs) {
  const auto parsed =
      ParseKeyValueList("key", "ip=203.0.113.7,user=alice@example.com");

  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_THAT(*parsed, ElementsAre(Pair("ip", "203.0.113.7"),
                                   Pair("user", "alice@example.com")));
}

TEST(ParseKeyValueListTest, EmptyTextIsAnEmptyList) {
  const auto parsed = ParseKeyValueList("context", "");

  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_THAT(*parsed, IsEmpty());
}

TEST(ParseKeyValueListTest, ValueRunsToTheNextCommaIncludingEquals) {
  const auto parsed = ParseKeyValueList("context", "q=a=b,route=/login");

  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_THAT(*parsed, ElementsAre(Pair("q", "a=b"), Pair("route", "/login")));
}

TEST(ParseKeyValueListTest, KeepsEmptyValuesAndSpacesForTheServiceToJudge) {
  const auto parsed = ParseKeyValueList("context", "ua=curl 8.0,note=");

  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_THAT(*parsed, ElementsAre(Pair("note", ""), Pair("ua", "curl 8.0")));
}

TEST(ParseKeyValueListTest, RejectsItemWithoutEquals) {
  const auto parsed = ParseKeyValueList("key", "ip=203.0.113.7,alice");

  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(parsed), StartsWith("--key: item 2 'alice'"));
  EXPECT_THAT(Message(parsed), HasSubstr("no '='"));
}

TEST(ParseKeyValueListTest, RejectsEmptyName) {
  const auto parsed = ParseKeyValueList("key", "=203.0.113.7");

  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(parsed), StartsWith("--key: item 1 '=203.0.113.7'"));
  EXPECT_THAT(Message(parsed), HasSubstr("empty name"));
}

TEST(ParseKeyValueListTest, RejectsRepeatedName) {
  const auto parsed = ParseKeyValueList("key", "ip=203.0.113.7,ip=10.0.0.1");

  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(parsed), StartsWith("--key: item 2 'ip=10.0.0.1'"));
  EXPECT_THAT(Message(parsed), HasSubstr("repeats the name 'ip'"));
}

TEST(ParseKeyValueListTest, RejectsEmptyItemFromStrayComma) {
  for (const char* text : {"ip=1.2.3.4,", ",ip=1.2.3.4", "a=1,,b=2", ","}) {
    SCOPED_TRACE(text);
    const auto parsed = ParseKeyValueList("context", text);

    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(Message(parsed), StartsWith("--context: item "));
    EXPECT_THAT(Message(parsed), HasSubstr("is empty"));
  }
}

TEST(ParseKeyValueListTest, NamesTheFlagItWasGiven) {
  const auto parsed = ParseKeyValueList("context", "route");

  EXPECT_THAT(Message(parsed), StartsWith("--context: "));
}

TEST(ParseCommandTest, ParsesEveryCommand) {
  EXPECT_EQ(ParseCommand("check").value(), Command::kCheck);
  EXPECT_EQ(ParseCommand("peek").value(), Command::kPeek);
  EXPECT_EQ(ParseCommand("record").value(), Command::kRecord);
  EXPECT_EQ(ParseCommand("reset").value(), Command::kReset);
  EXPECT_EQ(ParseCommand("gen-secret").value(), Command::kGenSecret);
}

TEST(ParseCommandTest, ParsesTheOperatorCommands) {
  EXPECT_EQ(ParseCommand("block").value(), Command::kBlock);
  EXPECT_EQ(ParseCommand("unblock").value(), Command::kUnblock);
  EXPECT_EQ(ParseCommand("lockouts").value(), Command::kLockouts);
  EXPECT_EQ(ParseCommand("inspect").value(), Command::kInspect);
  for (Command c : {Command::kBlock, Command::kUnblock, Command::kLockouts,
                    Command::kInspect}) {
    EXPECT_TRUE(IsAdminCommand(c));
  }
  for (Command c :
       {Command::kCheck, Command::kPeek, Command::kRecord, Command::kReset,
        Command::kGenSecret, Command::kAuditTail, Command::kPseudonym}) {
    EXPECT_FALSE(IsAdminCommand(c));
  }
  EXPECT_THAT(Message(ParseCommand("lockout")),
              HasSubstr("block, unblock, lockouts or inspect"));
}

TEST(ParseBlockDurationTest, NoDurationMeansUntilUnblocked) {
  const auto parsed = ParseBlockDuration("");

  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(*parsed, std::nullopt);
}

TEST(ParseBlockDurationTest, ParsesGoStyleDurations) {
  EXPECT_EQ(ParseBlockDuration("15m").value(), absl::Minutes(15));
  EXPECT_EQ(ParseBlockDuration("2h").value(), absl::Hours(2));
  EXPECT_EQ(ParseBlockDuration("1h30m").value(), absl::Minutes(90));
  EXPECT_EQ(ParseBlockDuration("2.5s").value(), absl::Milliseconds(2500));
  EXPECT_EQ(ParseBlockDuration("87600h").value(), kMaxBlockDuration);
}

TEST(ParseBlockDurationTest, RejectsWhatIsNotAPositiveDurationNamingTheFlag) {
  struct Case {
    const char* text;
    const char* message;
  };
  for (const Case& c : {
           Case{"15", "'15' is not a duration: expected e.g. 15m"},
           Case{"1d", "'1d' is not a duration"},
           Case{"15 m", "is not a duration"},
           Case{"0s", "must be positive, got 0s"},
           Case{"-5m", "must be positive, got -5m"},
           Case{"inf", "leave --duration out"},
           Case{"87600h1s", "at most 87600h (10 years), got 87600h1s"},
       }) {
    SCOPED_TRACE(c.text);
    const auto parsed = ParseBlockDuration(c.text);

    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(Message(parsed), StartsWith("--duration: "));
    EXPECT_THAT(Message(parsed), HasSubstr(c.message));
  }
}

TEST(CheckLockoutsPagingTest, AcceptsTheRanges) {
  EXPECT_TRUE(CheckLockoutsPaging(1, 1).ok());
  EXPECT_TRUE(
      CheckLockoutsPaging(kMaxLockoutsLimit, kMaxLockoutsPageSize).ok());
}

TEST(CheckLockoutsPagingTest, RejectsOutOfRangeNamingTheFlag) {
  EXPECT_EQ(CheckLockoutsPaging(0, 1000).message(),
            "--limit: must be 1..1000000, got 0");
  EXPECT_EQ(CheckLockoutsPaging(-1, 1000).message(),
            "--limit: must be 1..1000000, got -1");
  EXPECT_EQ(CheckLockoutsPaging(kMaxLockoutsLimit + 1, 1000).message(),
            "--limit: must be 1..1000000, got 1000001");
  EXPECT_EQ(CheckLockoutsPaging(100, 0).message(),
            "--page_size: must be 1..1000, got 0");
  EXPECT_EQ(CheckLockoutsPaging(100, 1001).message(),
            "--page_size: must be 1..1000, got 1001");
}

TEST(ParseCommandTest, GenSecretIsSpelledWithAHyphen) {
  for (const char* word : {"gen_secret", "gensecret", "Gen-Secret"}) {
    EXPECT_EQ(ParseCommand(word).status().code(),
              absl::StatusCode::kInvalidArgument)
        << word;
  }
  EXPECT_THAT(Message(ParseCommand("gen_secret")), HasSubstr("gen-secret"));
}

TEST(ParseCommandTest, RejectsUnknownCommandNamingIt) {
  const auto parsed = ParseCommand("Check");

  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(parsed), HasSubstr("'Check'"));
}

}  // namespace
}  // namespace gatehouse::cli
