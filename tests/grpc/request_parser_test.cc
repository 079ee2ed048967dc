#include "service/grpc/request_parser.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gatehouse/v1/audit.pb.h"
#include "gatehouse/v1/ratelimit.pb.h"
#include "google/protobuf/stubs/logging.h"
#include "google/protobuf/util/message_differencer.h"

namespace gatehouse {
namespace {

template <typename Proto>
std::string Bytes(const Proto& proto) {
  std::string out;
  proto.SerializeToString(&out);
  return out;
}

grpc::ByteBuffer Buffer(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

v1::CheckRequest UserCheck(const std::string& user) {
  v1::CheckRequest request;
  v1::Subject* s = request.add_subjects();
  s->set_policy("login");
  (*s->mutable_key())["ip"] = "192.0.2.1";
  (*s->mutable_key())["user"] = user;
  s->set_hits(2);
  return request;
}

class RequestParserTest : public ::testing::Test {
 protected:
  // Serializing invalid UTF-8 logs an error; keep the test output quiet.
  void SetUp() override {
    old_ = google::protobuf::SetLogHandler([](google::protobuf::LogLevel,
                                              const char*, int,
                                              const std::string&) {});
  }
  void TearDown() override { google::protobuf::SetLogHandler(old_); }

  google::protobuf::LogHandler* old_ = nullptr;
};

TEST_F(RequestParserTest, ParsesAWellFormedBody) {
  const v1::CheckRequest sent = UserCheck("ann");
  v1::CheckRequest parsed;
  ASSERT_TRUE(ParseRequest(Buffer(Bytes(sent)), &parsed).ok());
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(parsed, sent))
      << parsed.DebugString();
}

TEST_F(RequestParserTest, NamesTheMapValueWithInvalidUtf8) {
  v1::CheckRequest parsed;
  const absl::Status s =
      ParseRequest(Buffer(Bytes(UserCheck("caf\xe9"))), &parsed);
  EXPECT_TRUE(absl::IsInvalidArgument(s));
  EXPECT_EQ(s.message(),
            "request body is not a valid gatehouse.v1.CheckRequest: "
            "subjects[0].key[\"user\"]: invalid UTF-8");
  EXPECT_EQ(parsed.subjects_size(), 0);
}

TEST_F(RequestParserTest, NamesRepeatedIndexesNestedMessagesAndMapKeys) {
  v1::BatchRequest batch;
  *batch.add_items()->mutable_peek()->add_subjects() =
      UserCheck("ann").subjects(0);
  v1::Subject* bad = batch.add_items()->mutable_record()->add_subjects();
  *bad = UserCheck("bob").subjects(0);
  (*bad->mutable_key())["\xc0\x80"] = "x";  // Overlong NUL in a map key.
  EXPECT_EQ(FindWireProblem(Bytes(batch), *v1::BatchRequest::descriptor()),
            "items[1].record.subjects[0].key[\"\\xc0\\x80\"] (map key): "
            "invalid UTF-8");

  v1::StreamRequest stream;
  stream.add_policies("ok");
  stream.add_policies("\xed\xa0\x80");  // A UTF-16 surrogate.
  EXPECT_EQ(FindWireProblem(Bytes(stream), *v1::StreamRequest::descriptor()),
            "policies[1]: invalid UTF-8");
}

TEST_F(RequestParserTest, NamesTruncationAndGarbage) {
  const std::string body = Bytes(UserCheck("ann"));
  const std::string problem = FindWireProblem(body.substr(0, body.size() - 1),
                                              *v1::CheckRequest::descriptor());
  EXPECT_EQ(problem.rfind("subjects[0]: truncated (", 0), 0u) << problem;
  EXPECT_EQ(
      FindWireProblem("\xff\xff\xff\xff\xff", *v1::CheckRequest::descriptor()),
      "malformed field tag at byte 0");
  // Wire type 7 does not exist.
  EXPECT_EQ(FindWireProblem("\x0f", *v1::CheckRequest::descriptor()),
            "subjects[0]: invalid wire type 7 at byte 0");
}

// A body of plain ASCII goes to protobuf without the walk; when protobuf
// refuses it, the walk still says why.
TEST_F(RequestParserTest, AsciiBodiesProtobufRefusesAreDescribedByTheWalk) {
  const std::string body = Bytes(UserCheck("ann"));
  ASSERT_TRUE(IsAscii(body));
  v1::CheckRequest parsed;
  absl::Status s =
      ParseRequest(Buffer(body.substr(0, body.size() - 1)), &parsed);
  EXPECT_TRUE(absl::IsInvalidArgument(s));
  EXPECT_NE(
      s.message().find("gatehouse.v1.CheckRequest: subjects[0]: truncated ("),
      absl::string_view::npos)
      << s.message();
  EXPECT_EQ(parsed.subjects_size(), 0);

  // A zero tag after a well-formed field: protobuf stops there and refuses.
  s = ParseRequest(Buffer(body + std::string(1, '\0')), &parsed);
  EXPECT_TRUE(absl::IsInvalidArgument(s));
  EXPECT_EQ(
      s.message(),
      absl::StrCat("request body is not a valid gatehouse.v1.CheckRequest: "
                   "malformed field tag at byte ",
                   body.size()));
}

TEST_F(RequestParserTest, ParsesAWellFormedBodyBeyondAscii) {
  const v1::CheckRequest sent = UserCheck("jos\xc3\xa9@example.com");
  ASSERT_FALSE(IsAscii(Bytes(sent)));
  v1::CheckRequest parsed;
  ASSERT_TRUE(ParseRequest(Buffer(Bytes(sent)), &parsed).ok());
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(parsed, sent))
      << parsed.DebugString();
}

// gRPC hands a body over in several slices when it arrived in several
// frames: they are joined before parsing, and a problem's byte offset
// counts from the body's start, not the slice's.
grpc::ByteBuffer Sliced(const std::string& bytes, size_t pieces) {
  std::vector<grpc::Slice> slices;
  const size_t step = (bytes.size() + pieces - 1) / pieces;
  for (size_t at = 0; at < bytes.size(); at += step) {
    slices.emplace_back(bytes.substr(at, step));
  }
  return grpc::ByteBuffer(slices.data(), slices.size());
}

TEST_F(RequestParserTest, ParsesABodyInSeveralSlices) {
  v1::CheckRequest sent = UserCheck("ann");
  for (int i = 0; i < 40; ++i) *sent.add_subjects() = sent.subjects(0);
  const std::string bytes = Bytes(sent);
  for (size_t pieces : {2, 3, 7}) {
    SCOPED_TRACE(pieces);
    v1::CheckRequest parsed;
    ASSERT_TRUE(ParseRequest(Sliced(bytes, pieces), &parsed).ok());
    EXPECT_TRUE(
        google::protobuf::util::MessageDifferencer::Equals(parsed, sent));
  }
}

TEST_F(RequestParserTest, NamesAProblemInALaterSliceByBodyOffset) {
  // A zero tag after the well-formed body, in the last of three slices: the
  // same answer as for the body in one slice, its offset the body's.
  const std::string body = Bytes(UserCheck("ann"));
  const std::string bad = body + std::string(1, '\0');
  v1::CheckRequest parsed;
  const absl::Status whole = ParseRequest(Buffer(bad), &parsed);
  const absl::Status sliced = ParseRequest(Sliced(bad, 3), &parsed);
  EXPECT_TRUE(absl::IsInvalidArgument(sliced));
  EXPECT_EQ(sliced.message(), whole.message());
  EXPECT_NE(sliced.message().find(absl::StrCat("at byte ", body.size())),
            absl::string_view::npos)
      << sliced.message();
  EXPECT_EQ(parsed.subjects_size(), 0);
}

TEST(IsAsciiTest, FindsAHighByteAnywhere) {
  EXPECT_TRUE(IsAscii(""));
  const std::string clean(37, 'a');
  EXPECT_TRUE(IsAscii(clean));
  for (size_t at = 0; at < clean.size(); ++at) {
    std::string dirty = clean;
    dirty[at] = static_cast<char>(0x80);
    EXPECT_FALSE(IsAscii(dirty)) << at;
  }
}

// Our UTF-8 check agrees with protobuf's own, which decides what parses.
TEST_F(RequestParserTest, Utf8CheckAgreesWithProtobuf) {
  std::mt19937 random(20);
  const std::string alphabet[] = {
      "a",        "\x7f",     "\xc2\x80", "\xc0",     "\xc1\xbf", "\xe0\x9f",
      "\xe0\xa0", "\x80",     "\xed\x9f", "\xed\xa0", "\xef\xbf", "\xbf",
      "\xf0\x90", "\xf4\x8f", "\xf4\x90", "\xf5",     "\xf0\x8f", "\xff"};
  int invalid = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string s;
    const int parts = 1 + static_cast<int>(random() % 4);
    for (int p = 0; p < parts; ++p)
      s += alphabet[random() % std::size(alphabet)];
    v1::WatchCeilingsRequest request;
    request.add_policies(s);
    v1::WatchCeilingsRequest parsed;
    const bool protobuf_ok = parsed.ParseFromString(Bytes(request));
    ASSERT_EQ(IsValidUtf8(s), protobuf_ok) << absl::CHexEscape(s);
    invalid += protobuf_ok ? 0 : 1;
  }
  EXPECT_GT(invalid, 1000);
}

}  // namespace
}  // namespace gatehouse
