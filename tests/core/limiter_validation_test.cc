// Every operation validates the whole request first: a rejected request
// names the offending field, never echoes a value, and counts nothing.

#include <cstdint>
#include <functional>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/core/limiter.h"
#include "service/core/request.h"
#include "service/core/subject_key.h"
#include "tests/core/limiter_test_util.h"

namespace gatehouse {
namespace {

using core_test::MakePolicy;
using core_test::MakeRequest;
using core_test::Subject;
using ::testing::HasSubstr;
using ::testing::Not;

// Marks values that must never appear in an error message.
constexpr char kSecret[] = "s3cr3t";

SubjectRequest Alice(uint64_t hits = 1) {
  return Subject("api", {{"user", "alice"}}, hits);
}
SubjectRequest User(std::string value) {
  return Subject("api", {{"user", std::move(value)}});
}

struct InvalidCase {
  std::string name;
  // Turns a valid request (subjects[0] is Alice(), subjects[1] another valid
  // subject) into an invalid one.
  std::function<void(Request&)> spoil;
  absl::StatusCode code;
  std::string field;
};

// Names the case in test listings instead of dumping its bytes.
void PrintTo(const InvalidCase& c, std::ostream* os) { *os << c.name; }

std::vector<InvalidCase> InvalidCases() {
  std::string secret_padded = kSecret;
  secret_padded.resize(kMaxDimensionValueBytes + 1, 'x');
  auto bad_user = [](std::string value) {
    return [value](Request& r) { r.subjects[1] = User(value); };
  };
  auto bad_context = [](std::string key, std::string value) {
    return [key, value](Request& r) { r.context[key] = value; };
  };
  const std::string user = "subjects[1].key[\"user\"]";
  const auto kInvalid = absl::StatusCode::kInvalidArgument;
  return {
      {"NoSubjects", [](Request& r) { r.subjects.clear(); }, kInvalid,
       "subjects"},
      {"SixtyFiveSubjects",
       [](Request& r) { r.subjects.resize(kMaxSubjects + 1, Alice()); },
       kInvalid, "subjects"},
      {"EmptyPolicy", [](Request& r) { r.subjects[1].policy.clear(); },
       kInvalid, "subjects[1].policy"},
      {"UnknownPolicy", [](Request& r) { r.subjects[1].policy = "apx"; },
       absl::StatusCode::kNotFound, "subjects[1].policy"},
      {"UnknownDimension",
       [](Request& r) { r.subjects[1].key["colour"] = kSecret; }, kInvalid,
       "subjects[1].key"},
      {"MissingDimension", [](Request& r) { r.subjects[1].key.clear(); },
       kInvalid, "subjects[1].key"},
      {"EmptyDimensionName",
       [](Request& r) { r.subjects[1].key[""] = kSecret; }, kInvalid,
       "subjects[1].key"},
      {"EmptyValue", bad_user(""), kInvalid, user},
      {"ValueOf257Bytes", bad_user(secret_padded), kInvalid, user},
      {"InvalidUtf8Byte", bad_user(absl::StrCat(kSecret, "\xff")), kInvalid,
       user},
      {"TruncatedUtf8", bad_user(absl::StrCat(kSecret, "\xc3")), kInvalid,
       user},
      {"OverlongUtf8", bad_user(absl::StrCat(kSecret, "\xc0\xaf")), kInvalid,
       user},
      {"Utf8Surrogate", bad_user(absl::StrCat(kSecret, "\xed\xa0\x80")),
       kInvalid, user},
      {"Newline", bad_user(absl::StrCat(kSecret, "\n")), kInvalid, user},
      {"Tab", bad_user(absl::StrCat(kSecret, "\t")), kInvalid, user},
      {"Delete", bad_user(absl::StrCat(kSecret, "\x7f")), kInvalid, user},
      {"C1Control", bad_user(absl::StrCat(kSecret, "\xc2\x85")), kInvalid,
       user},
      {"EmbeddedNul", bad_user(std::string(kSecret) + '\0' + "x"), kInvalid,
       user},
      {"InvalidIp",
       [](Request& r) {
         r.subjects[1] = Subject("geo", {{"ip", kSecret}});
       },
       kInvalid, "subjects[1].key[\"ip\"]"},
      {"TooManyHits", [](Request& r) { r.subjects[1].hits = kMaxHits + 1; },
       kInvalid, "subjects[1].hits"},
      {"SeventeenContextEntries",
       [](Request& r) {
         for (size_t i = 0; i <= kMaxContextEntries; ++i) {
           r.context[absl::StrCat("k", i)] = "v";
         }
       },
       kInvalid, "context"},
      {"ContextKeyOf65Bytes",
       bad_context(std::string(kMaxContextKeyBytes + 1, 'k'), "v"), kInvalid,
       "context"},
      {"EmptyContextKey", bad_context("", "v"), kInvalid, "context"},
      {"ContextValueOf257Bytes",
       bad_context("route", std::string(kMaxContextValueBytes + 1, 'v')),
       kInvalid, "context[\"route\"]"},
      {"ContextValueWithControl",
       bad_context("route", absl::StrCat(kSecret, "\r\n")), kInvalid,
       "context[\"route\"]"},
  };
}

class LimiterValidationTest
    : public core_test::LimiterFixture,
      public ::testing::WithParamInterface<InvalidCase> {
 protected:
  void SetUp() override {
    Install({MakePolicy("api", {"user"}, 10, absl::Minutes(1)),
             MakePolicy("geo", {"ip"}, 10, absl::Minutes(1))});
    // Something to leave untouched.
    ASSERT_EQ(Record(Alice(3)).count, 3u);
  }
};

TEST_P(LimiterValidationTest, RejectsNamingTheFieldAndCountsNothing) {
  const InvalidCase& c = GetParam();
  Request request = MakeRequest({Alice(), User("bob")});
  request.context["route"] = "/login";
  c.spoil(request);
  const auto before = store_.Snapshot();
  const int commits = store_.counter_commits();
  for (Operation op : {Operation::kCheck, Operation::kPeek, Operation::kRecord,
                       Operation::kReset}) {
    SCOPED_TRACE(OperationName(op));
    const absl::StatusOr<Response> r = limiter_->Run(op, request);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), c.code) << r.status();
    EXPECT_THAT(std::string(r.status().message()), HasSubstr(c.field));
    EXPECT_THAT(std::string(r.status().message()), Not(HasSubstr(kSecret)));
  }
  EXPECT_EQ(store_.Snapshot(), before);
  EXPECT_EQ(store_.counter_commits(), commits);
  EXPECT_EQ(Peek(Alice()).count, 3u);
}

INSTANTIATE_TEST_SUITE_P(AllFields, LimiterValidationTest,
                         ::testing::ValuesIn(InvalidCases()),
                         [](const ::testing::TestParamInfo<InvalidCase>& info) {
                           return info.param.name;
                         });

// The limits themselves are accepted.
class LimiterLimitsTest : public core_test::LimiterFixture {
 protected:
  void SetUp() override {
    Install({MakePolicy("api", {"user"}, kMaxHits, absl::Minutes(1))});
  }
};

TEST_F(LimiterLimitsTest, AcceptsAValueOf320Bytes) {
  // The longest valid e-mail address: 64-byte local part, @, 255-byte domain.
  const std::string email = std::string(64, 'l') + "@" + std::string(255, 'd');
  ASSERT_EQ(email.size(), 320u);
  EXPECT_EQ(Check(User(email)).count, 1u);
}

TEST_F(LimiterLimitsTest, AcceptsMultiByteUtf8) {
  EXPECT_EQ(Check(User("J\xc3\xb6rg \xe2\x82\xac \xf0\x9f\x94\x91")).count, 1u);
}

TEST_F(LimiterLimitsTest, AcceptsAMillionHitsAndTreatsZeroAsOne) {
  EXPECT_EQ(Record(Alice(kMaxHits)).count, kMaxHits);
  EXPECT_EQ(Record(User("bob")).count, 1u);
  EXPECT_EQ(Record(Subject("api", {{"user", "carol"}}, 0)).count, 1u);
}

TEST_F(LimiterLimitsTest, AcceptsSixtyFourSubjects) {
  std::vector<SubjectRequest> subjects;
  for (size_t i = 0; i < kMaxSubjects; ++i) {
    subjects.push_back(User(absl::StrCat("user", i)));
  }
  const Response r = Run(Operation::kCheck, MakeRequest(subjects));
  EXPECT_TRUE(r.allowed);
  EXPECT_EQ(r.verdicts.size(), kMaxSubjects);
  EXPECT_EQ(memory_.size(), kMaxSubjects);
}

TEST_F(LimiterLimitsTest, AcceptsContextAtItsLimits) {
  Request request = MakeRequest({Alice()});
  for (size_t i = 0; i + 1 < kMaxContextEntries; ++i) {
    request.context[absl::StrCat("k", i)] = "";
  }
  request.context[std::string(kMaxContextKeyBytes, 'k')] =
      std::string(kMaxContextValueBytes, 'v');
  ASSERT_EQ(request.context.size(), kMaxContextEntries);
  EXPECT_TRUE(Run(Operation::kCheck, request).allowed);
  EXPECT_EQ(Peek(Alice()).count, 1u);
}

}  // namespace
}  // namespace gatehouse
