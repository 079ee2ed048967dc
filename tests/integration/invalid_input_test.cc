// Request bodies protobuf cannot parse, and values the server refuses,
// through the real binary: every method answers INVALID_ARGUMENT naming the
// field and counts it; the real Client denies such requests without
// opening its circuit breaker.

#include <grpcpp/create_channel.h>
#include <grpcpp/impl/client_unary_call.h>
#include <grpcpp/support/sync_stream.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "gatehouse/v1/audit.pb.h"
#include "tests/integration/fixture.h"
#include "tests/metrics/test_support.h"

namespace gatehouse::testing {
namespace {

namespace mt = ::gatehouse::metrics::testing;

const std::string kLatin1User = "caf\xe9";

struct Method {
  const char* path;            // gRPC method path.
  const char* label;           // gatehouse_grpc_requests_total's method label.
  bool streaming;              // Server-streaming.
  std::string bad_utf8;        // A body with invalid UTF-8 in one field...
  std::string bad_utf8_field;  // ...named so in the answer.
  std::string valid;           // A well-formed body (truncated below).
};

template <typename Proto>
std::string Bytes(const Proto& proto) {
  std::string out;
  proto.SerializeToString(&out);  // Logs about invalid UTF-8; still writes.
  return out;
}

std::vector<Method> Methods() {
  std::vector<Method> methods;
  v1::CheckRequest check;
  *check.add_subjects() = Client::MakeSubject(
      "failed_auth_user_ip", {{"user", kLatin1User}, {"ip", "192.0.2.1"}});
  v1::CheckRequest good_check;
  *good_check.add_subjects() = Client::MakeSubject(
      "failed_auth_user_ip", {{"user", "ann"}, {"ip", "192.0.2.1"}});
  methods.push_back({"/gatehouse.v1.RateLimiter/Check", "Check", false,
                     Bytes(check), "subjects[0].key[\"user\"]: invalid UTF-8",
                     Bytes(good_check)});

  v1::PeekRequest peek;
  *peek.add_subjects() = Client::MakeSubject("login_\xff", {{"ip", "1.2.3.4"}});
  methods.push_back({"/gatehouse.v1.RateLimiter/Peek", "Peek", false,
                     Bytes(peek), "subjects[0].policy: invalid UTF-8",
                     Bytes(good_check)});

  v1::RecordRequest record;
  *record.add_subjects() = Client::MakeSubject("login_ip", {{"ip", "1.2.3.4"}});
  (*record.mutable_context())["route"] = "/caf\xe9";
  methods.push_back({"/gatehouse.v1.RateLimiter/Record", "Record", false,
                     Bytes(record), "context[\"route\"]: invalid UTF-8",
                     Bytes(good_check)});

  v1::ResetRequest reset;
  *reset.add_subjects() =
      Client::MakeSubject("login_ip", {{kLatin1User, "1.2.3.4"}});
  methods.push_back({"/gatehouse.v1.RateLimiter/Reset", "Reset", false,
                     Bytes(reset),
                     "subjects[0].key[\"caf\\xe9\"] (map key): invalid UTF-8",
                     Bytes(good_check)});

  v1::BatchRequest batch;
  *batch.add_items()->mutable_check() = good_check;
  *batch.add_items()->mutable_check() = check;
  v1::BatchRequest good_batch;
  *good_batch.add_items()->mutable_check() = good_check;
  methods.push_back({"/gatehouse.v1.RateLimiter/Batch", "Batch", false,
                     Bytes(batch),
                     "items[1].check.subjects[0].key[\"user\"]: invalid UTF-8",
                     Bytes(good_batch)});

  v1::WatchCeilingsRequest watch;
  watch.add_policies("login_ip");
  watch.add_policies("caf\xe9");
  v1::WatchCeilingsRequest good_watch;
  good_watch.add_policies("login_ip");
  methods.push_back({"/gatehouse.v1.RateLimiter/WatchCeilings", "WatchCeilings",
                     true, Bytes(watch), "policies[1]: invalid UTF-8",
                     Bytes(good_watch)});

  v1::StreamRequest stream;
  stream.add_policies("caf\xe9");
  v1::StreamRequest good_stream;
  good_stream.add_policies("login_ip");
  good_stream.set_follow(true);
  methods.push_back({"/gatehouse.v1.Audit/Stream", "AuditStream", true,
                     Bytes(stream), "policies[0]: invalid UTF-8",
                     Bytes(good_stream)});
  return methods;
}

class InvalidInputTest : public ServerTest {
 protected:
  // Sends `body` raw to `method` with the test token; the call's status.
  grpc::Status SendRaw(const Method& method, const std::string& body) {
    if (channel_ == nullptr) {
      channel_ = grpc::CreateChannel(server_->address(),
                                     grpc::InsecureChannelCredentials());
    }
    grpc::Slice slice(body);
    grpc::ByteBuffer request(&slice, 1);
    grpc::ClientContext context;
    context.AddMetadata("authorization", std::string("Bearer ") + kTestToken);
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(5));
    if (!method.streaming) {
      grpc::ByteBuffer response;
      return grpc::internal::BlockingUnaryCall<grpc::ByteBuffer,
                                               grpc::ByteBuffer>(
          channel_.get(),
          grpc::internal::RpcMethod(method.path,
                                    grpc::internal::RpcMethod::NORMAL_RPC),
          &context, request, &response);
    }
    std::unique_ptr<grpc::ClientReader<grpc::ByteBuffer>> reader(
        grpc::internal::ClientReaderFactory<grpc::ByteBuffer>::Create(
            channel_.get(),
            grpc::internal::RpcMethod(
                method.path, grpc::internal::RpcMethod::SERVER_STREAMING),
            &context, request));
    grpc::ByteBuffer event;
    while (reader->Read(&event)) {
    }
    return reader->Finish();
  }

  // gatehouse_grpc_requests_total{method, code}; 0 when absent.
  double Requests(const std::string& method, const std::string& code) {
    const mt::HttpResponse response =
        mt::HttpGet(server_->metrics_port(), "/metrics");
    EXPECT_EQ(response.status, 200) << response.error;
    const std::string m = "method=\"" + method + "\"";
    const std::string c = "code=\"" + code + "\"";
    size_t start = 0;
    while (start < response.body.size()) {
      size_t end = response.body.find('\n', start);
      if (end == std::string::npos) end = response.body.size();
      const std::string line = response.body.substr(start, end - start);
      start = end + 1;
      if (line.rfind("gatehouse_grpc_requests_total{", 0) == 0 &&
          line.find(m) != std::string::npos &&
          line.find(c) != std::string::npos) {
        return std::stod(line.substr(line.rfind(' ') + 1));
      }
    }
    return 0;
  }

  std::shared_ptr<grpc::Channel> channel_;
};

TEST_F(InvalidInputTest, EveryMethodRefusesUnparsableBodiesNamingTheField) {
  ASSERT_GT(server_->metrics_port(), 0);
  for (const Method& method : Methods()) {
    SCOPED_TRACE(method.path);
    const double before = Requests(method.label, "INVALID_ARGUMENT");

    grpc::Status s = SendRaw(method, method.bad_utf8);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(s.error_message().find(method.bad_utf8_field), std::string::npos)
        << s.error_message();

    s = SendRaw(method, "\xff\xff\xff\xff\xff");
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(s.error_message().find("malformed field tag at byte 0"),
              std::string::npos)
        << s.error_message();

    const std::string truncated =
        method.valid.substr(0, method.valid.size() - 1);
    s = SendRaw(method, truncated);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(s.error_message().find("truncated"), std::string::npos)
        << s.error_message();

    EXPECT_EQ(Requests(method.label, "INVALID_ARGUMENT"), before + 3);
  }
}

TEST_F(InvalidInputTest, WellFormedRawBodiesStillServed) {
  // The raw registration serves ordinary calls: a unary and a stream.
  const std::vector<Method> methods = Methods();
  EXPECT_TRUE(SendRaw(methods[0], methods[0].valid).ok());
  EXPECT_EQ(PeekCount(Client::MakeSubject(
                "failed_auth_user_ip", {{"user", "ann"}, {"ip", "192.0.2.1"}})),
            1u);
}

// The attack of issue 20: a Latin-1 login name through the real client.
TEST_F(InvalidInputTest, Latin1UserIsDeniedAndLimitingStaysOn) {
  const double checks_before = Requests("Check", "OK");
  for (int i = 0; i < 5; ++i) {
    v1::CheckRequest request;
    *request.add_subjects() = Client::MakeSubject(
        "failed_auth_user_ip", {{"user", kLatin1User}, {"ip", "192.0.2.7"}});
    const Client::Result r = client_->Check(request);
    EXPECT_FALSE(r.allowed);
    EXPECT_TRUE(r.refused);
    EXPECT_FALSE(r.degraded);
    EXPECT_EQ(r.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(r.status.error_message().find("subjects[0].key[\"user\"]"),
              std::string::npos)
        << r.status.error_message();
  }
  // A value only the server can judge (not an IP address): refused by the
  // server, denied by the client, not held against the service.
  for (int i = 0; i < 5; ++i) {
    v1::CheckRequest request;
    *request.add_subjects() = Client::MakeSubject(
        "failed_auth_user_ip", {{"user", "bob"}, {"ip", "not-an-ip"}});
    const Client::Result r = client_->Check(request);
    EXPECT_FALSE(r.allowed);
    EXPECT_TRUE(r.refused);
    EXPECT_EQ(r.attempts, 1);
    EXPECT_EQ(r.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  }
  EXPECT_EQ(Requests("Check", "INVALID_ARGUMENT"), 5);
  EXPECT_EQ(client_->GetStats().cooldowns, 0u);

  // Twelve well-formed Checks are sent and counted: limit 5.
  int allowed = 0;
  for (int i = 0; i < 12; ++i) {
    v1::CheckRequest request;
    *request.add_subjects() = Client::MakeSubject(
        "failed_auth_user_ip", {{"user", "carol"}, {"ip", "192.0.2.7"}});
    const Client::Result r = client_->Check(request);
    EXPECT_TRUE(r.status.ok()) << r.status.error_message();
    EXPECT_EQ(r.attempts, 1);
    allowed += r.allowed ? 1 : 0;
  }
  EXPECT_EQ(allowed, 5);
  EXPECT_EQ(Requests("Check", "OK"), checks_before + 12);
  EXPECT_FALSE(client_->GetStats().cooling_down);
}

TEST_F(InvalidInputTest, EmailAddressOf320BytesIsAcceptedAnd321Refused) {
  const std::string local(64, 'l');
  std::string email = local + "@" + std::string(255, 'd');  // 320 bytes.
  ASSERT_EQ(email.size(), 320u);
  v1::CheckRequest request;
  *request.add_subjects() = Client::MakeSubject(
      "failed_auth_user_ip", {{"user", email}, {"ip", "192.0.2.9"}});
  Client::Result r = client_->Check(request);
  EXPECT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_TRUE(r.allowed);

  // 321 bytes: the client refuses it before sending, and so does the server.
  email += "x";
  *request.mutable_subjects(0) = Client::MakeSubject(
      "failed_auth_user_ip", {{"user", email}, {"ip", "192.0.2.9"}});
  r = client_->Check(request);
  EXPECT_FALSE(r.allowed);
  EXPECT_TRUE(r.refused);
  EXPECT_EQ(r.attempts, 0);
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  const Method check = Methods()[0];
  const grpc::Status s = SendRaw(check, Bytes(request));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find(
                "subjects[0].key[\"user\"]: value is 321 bytes, at most 320"),
            std::string::npos)
      << s.error_message();
}

}  // namespace
}  // namespace gatehouse::testing
