#include "client/cli_args.h"

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
