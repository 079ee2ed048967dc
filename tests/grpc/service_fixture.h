#ifndef GATEHOUSE_TESTS_GRPC_SERVICE_FIXTURE_H_
#define GATEHOUSE_TESTS_GRPC_SERVICE_FIXTURE_H_

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <gtest/gtest.h>

#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "service/auth/authenticator.h"
#include "service/clock/simulated_clock.h"
#include "service/config/policy_file.h"
#include "service/core/in_memory_counter_store.h"
#include "service/core/limiter.h"
#include "service/grpc/call_metrics.h"
#include "service/grpc/rate_limiter_service.h"
#include "service/metrics/gatehouse_metrics.h"
#include "service/metrics/registry.h"
#include "tests/testing/in_process_server.h"

// The RateLimiter service in-process on port 0 over an in-memory store, with
// two callers and metrics, shared by the service tests.
namespace gatehouse::grpc_test {

inline constexpr char kPolicies[] = R"(
policies:
  - name: login_ip
    dimensions: [ip]
    limit: 3
    window: 1m
  - name: failed_auth_user_ip
    dimensions: [user, ip]
    limit: 2
    window: 15m
    lockout: {duration: 15m, multiplier: 2, max: 24h}
)";

inline constexpr char kFullToken[] =
    "full-token-9f8e7d6c5b4a39281706f5e4d3c2b1a0";
inline constexpr char kPeekToken[] =
    "peek-token-0a1b2c3d4e5f60718293a4b5c6d7e8f9";

inline std::string CredentialsYaml() {
  return "clients:\n"
         "  - id: api\n"
         "    token_sha256: [" +
         HexEncode(Sha256(kFullToken)) +
         "]\n"
         "    scopes: [check, peek, record, reset]\n"
         "  - id: reader\n"
         "    token_sha256: [" +
         HexEncode(Sha256(kPeekToken)) +
         "]\n"
         "    scopes: [peek]\n"
         "    policies: [login_ip]\n";
}

class RateLimiterServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto policies = ParsePolicyYaml(kPolicies, "test");
    ASSERT_TRUE(policies.ok()) << policies.status();
    limiter_ = std::make_unique<Limiter>(&clock_, &store_, *policies);
    auto credentials = Credentials::Parse(CredentialsYaml(), "test");
    ASSERT_TRUE(credentials.ok()) << credentials.status();
    authenticator_ = std::make_unique<Authenticator>(*credentials);
    CallPipelineOptions pipeline;
    pipeline.limiter = limiter_.get();
    pipeline.authenticator = authenticator_.get();
    pipeline.metrics = &call_metrics_;
    pipeline_ = std::make_unique<CallPipeline>(pipeline);
    service_ =
        std::make_unique<RateLimiterService>(pipeline_.get(), StreamOptions());

    grpc::EnableDefaultHealthCheckService(true);
    grpc::reflection::InitProtoReflectionServerBuilderPlugin();
    server_ = testing::InProcessServer::Start({service_.get()});
    ASSERT_NE(server_, nullptr);
    channel_ = server_->channel();
    stub_ = v1::RateLimiter::NewStub(channel_);
  }

  void TearDown() override {
    if (server_) server_->Shutdown();
  }

  std::unique_ptr<grpc::ClientContext> Context(const std::string& token) {
    auto ctx = std::make_unique<grpc::ClientContext>();
    if (!token.empty()) ctx->AddMetadata("authorization", "Bearer " + token);
    return ctx;
  }

  static void AddSubject(google::protobuf::RepeatedPtrField<v1::Subject>* out,
                         const std::string& policy,
                         std::map<std::string, std::string> key,
                         uint64_t hits = 0) {
    v1::Subject* s = out->Add();
    s->set_policy(policy);
    for (auto& [k, v] : key) (*s->mutable_key())[k] = v;
    s->set_hits(hits);
  }

  // The audit streams over store_, for authenticator_'s callers.
  AuditStreamOptions StreamOptions() {
    AuditStreamOptions streams;
    streams.log = &store_;
    streams.authenticator = authenticator_.get();
    streams.metrics = &call_metrics_;
    return streams;
  }

  // A counter's value; creates the series (at 0) when absent.
  uint64_t Counter(metrics::Family<metrics::Counter>& family,
                   const std::vector<std::string>& labels) {
    return family.WithLabels(labels).Value();
  }

  SimulatedClock clock_;
  InMemoryCounterStore store_;
  metrics::Registry registry_;
  metrics::GatehouseMetrics metrics_{&registry_, "test"};
  CallMetrics call_metrics_{&metrics_};
  std::unique_ptr<Limiter> limiter_;
  std::unique_ptr<Authenticator> authenticator_;
  std::unique_ptr<CallPipeline> pipeline_;
  std::unique_ptr<RateLimiterService> service_;
  std::unique_ptr<testing::InProcessServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::RateLimiter::Stub> stub_;
};

}  // namespace gatehouse::grpc_test

#endif  // GATEHOUSE_TESTS_GRPC_SERVICE_FIXTURE_H_
