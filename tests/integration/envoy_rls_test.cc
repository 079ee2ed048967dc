// Envoy's rate limit service API against the real binary, called the way
// Envoy calls it: generated from the project's Envoy protos only (this
// client knows nothing of gatehouse.v1), the token in the call's metadata.

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>

#include "envoy/service/ratelimit/v3/rls.grpc.pb.h"
#include "service/auth/credentials.h"
#include "tests/integration/server_process.h"
#include "tests/testing/temp_dir.h"

namespace gatehouse::testing {
namespace {

namespace rls = envoy::service::ratelimit::v3;

constexpr char kPolicies[] = R"(
policies:
  - name: login_ip
    dimensions: [ip]
    limit: 2
    window: 1m
    envoy:
      domain: edge
      descriptor:
        - {key: generic_key, value: login}
        - {key: remote_address, dimension: ip}
)";

constexpr char kToken[] = "envoy-it-token-9a8b7c6d5e4f30211203f4e5d6c7b8a9";

class EnvoyRlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    policies_ = dir_.WriteFile("policies.yaml", kPolicies);
    const std::string credentials = dir_.WriteFile(
        "credentials.yaml", "clients:\n  - id: envoy\n    token_sha256: [" +
                                HexEncode(Sha256(kToken)) +
                                "]\n    scopes: [check, peek]\n");
    const std::string key = dir_.WriteFile(
        "pseudonym.key", "envoy-it-pseudonym-key-Qw3rTy7uI9oP1aS5dF8g\n");
    server_ = std::make_unique<ServerProcess>(std::vector<std::string>{
        "--data_dir=" + dir_.path() + "/data", "--policies=" + policies_,
        "--credentials=" + credentials, "--pseudonym_key_file=" + key,
        "--shutdown_grace=200ms"});
    ASSERT_TRUE(server_->Start()) << server_->stderr_text();
    stub_ = rls::RateLimitService::NewStub(grpc::CreateChannel(
        server_->address(), grpc::InsecureChannelCredentials()));
  }

  // The descriptor a /login route's actions produce: generic_key=login, then
  // `address_key` (remote_address) = `ip`.
  static rls::RateLimitRequest LoginRequest(
      const std::string& ip,
      const std::string& address_key = "remote_address") {
    rls::RateLimitRequest request;
    request.set_domain("edge");
    auto* d = request.add_descriptors();
    auto* e = d->add_entries();
    e->set_key("generic_key");
    e->set_value("login");
    e = d->add_entries();
    e->set_key(address_key);
    e->set_value(ip);
    return request;
  }

  // Calls as Envoy does: `token` (none when empty) in the metadata; a
  // channel that broke (a restarted server) is waited for.
  grpc::Status Call(const rls::RateLimitRequest& request,
                    rls::RateLimitResponse* response,
                    const std::string& token = kToken) {
    grpc::ClientContext context;
    context.set_wait_for_ready(true);
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(10));
    if (!token.empty()) {
      context.AddMetadata("authorization", "Bearer " + token);
    }
    return stub_->ShouldRateLimit(&context, request, response);
  }

  // ShouldRateLimit for a login from `ip` (and a second descriptor with
  // `other_key` when set), as Envoy's http ratelimit filter sends it.
  grpc::Status Login(const std::string& ip, rls::RateLimitResponse* response,
                     const std::string& token = kToken,
                     const std::string& other_key = "") {
    rls::RateLimitRequest request = LoginRequest(ip);
    if (!other_key.empty()) {
      auto* other = request.add_descriptors()->add_entries();
      other->set_key(other_key);
      other->set_value(ip);
    }
    return Call(request, response, token);
  }

  TempDir dir_;
  std::string policies_;
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<rls::RateLimitService::Stub> stub_;
};

TEST_F(EnvoyRlsTest, DecidesAndAnswersAsEnvoyExpects) {
  rls::RateLimitResponse response;
  for (int i = 0; i < 2; ++i) {
    const grpc::Status s = Login("203.0.113.9", &response);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(response.overall_code(), rls::RateLimitResponse::OK);
  }
  ASSERT_TRUE(Login("203.0.113.9", &response).ok());
  EXPECT_EQ(response.overall_code(), rls::RateLimitResponse::OVER_LIMIT);
  ASSERT_EQ(response.statuses_size(), 1);
  EXPECT_EQ(response.statuses(0).current_limit().name(), "login_ip");
  EXPECT_EQ(response.statuses(0).current_limit().unit(),
            rls::RateLimitResponse::RateLimit::MINUTE);
  bool retry_after = false;
  for (const auto& h : response.response_headers_to_add()) {
    retry_after |= h.key() == "Retry-After";
  }
  EXPECT_TRUE(retry_after);

  // Another address is not limited; a descriptor no policy maps is OK.
  ASSERT_TRUE(Login("203.0.113.10", &response, kToken, "path").ok());
  EXPECT_EQ(response.overall_code(), rls::RateLimitResponse::OK);
  ASSERT_EQ(response.statuses_size(), 2);
  EXPECT_FALSE(response.statuses(1).has_current_limit());
}

TEST_F(EnvoyRlsTest, RefusesCallersWithoutAToken) {
  rls::RateLimitResponse response;
  EXPECT_EQ(Login("203.0.113.9", &response, "").error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Login("203.0.113.9", &response, "not-the-token").error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(EnvoyRlsTest, BadDescriptorValueIsInvalidArgumentNamingTheEntry) {
  rls::RateLimitResponse response;
  const grpc::Status s = Login("not-an-address", &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(),
            "descriptors[0].entries[1].value: not an IP address");
}

TEST_F(EnvoyRlsTest, ReloadedMappingKeepsCountersAndSurvivesRestart) {
  rls::RateLimitResponse response;
  ASSERT_TRUE(Login("198.51.100.4", &response).ok());
  // The same policy, now reached from domain "edge" by a different key.
  std::ofstream(policies_, std::ios::trunc) << R"(
policies:
  - name: login_ip
    dimensions: [ip]
    limit: 2
    window: 1m
    envoy:
      domain: edge
      descriptor:
        - {key: generic_key, value: login}
        - {key: client_ip, dimension: ip}
)";
  server_->Signal(SIGHUP);
  rls::RateLimitRequest request = LoginRequest("198.51.100.4", "client_ip");
  // Peek (0 hits) until the reload shows: the counter from before is kept.
  request.mutable_descriptors(0)->mutable_hits_addend()->set_value(0);
  bool mapped = false;
  for (int i = 0; i < 500 && !mapped; ++i) {
    ASSERT_TRUE(Call(request, &response).ok());
    mapped = response.statuses(0).has_current_limit();
    if (!mapped) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(mapped);
  EXPECT_EQ(response.statuses(0).limit_remaining(), 1u);

  server_->Kill();
  ASSERT_TRUE(server_->Restart()) << server_->stderr_text();
  // A new connection, as Envoy makes when its old one breaks.
  stub_ = rls::RateLimitService::NewStub(grpc::CreateChannel(
      server_->address(), grpc::InsecureChannelCredentials()));
  const grpc::Status s = Call(request, &response);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(response.statuses(0).limit_remaining(), 1u);
}

}  // namespace
}  // namespace gatehouse::testing
