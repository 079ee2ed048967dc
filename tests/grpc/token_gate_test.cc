#include "service/grpc/token_gate.h"

#include <gtest/gtest.h>

#include "service/crypto/sha256.h"
#include "service/metrics/gatehouse_metrics.h"
#include "service/metrics/registry.h"

namespace gatehouse {
namespace {

constexpr char kToken[] = "gate-token-Qx7Vm2Lp9Kd4Rt8Wz3Nc6Hb1Jf5Gs0Ya";

class TokenGateTest : public ::testing::Test {
 protected:
  TokenGateTest() {
    auto credentials = Credentials::Parse(
        "clients:\n  - id: api\n    token_sha256: [" +
            HexEncode(Sha256(kToken)) + "]\n    scopes: [check]\n",
        "test");
    EXPECT_TRUE(credentials.ok()) << credentials.status();
    authenticator_ = std::make_unique<Authenticator>(*credentials);
    gate_ = std::make_unique<TokenGate>(authenticator_.get(), &call_metrics_);
  }

  uint64_t AuthFailures(const char* reason) {
    return metrics_.auth_failures_total.WithLabels({reason}).Value();
  }

  metrics::Registry registry_;
  metrics::GatehouseMetrics metrics_{&registry_, "test"};
  CallMetrics call_metrics_{&metrics_};
  std::unique_ptr<Authenticator> authenticator_;
  std::unique_ptr<TokenGate> gate_;
};

TEST_F(TokenGateTest, AdmitsAKnownTokenWhateverItsScopes) {
  // Scopes and policies are the handlers' to check, with the request.
  EXPECT_TRUE(
      gate_
          ->Check("/gatehouse.v1.Audit/Stream", std::string("Bearer ") + kToken)
          .ok());
}

TEST_F(TokenGateTest, RefusesAMissingOrUnknownTokenAndCountsWhy) {
  const grpc::Status missing =
      gate_->Check("/gatehouse.v1.RateLimiter/Check", "");
  EXPECT_EQ(missing.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  const grpc::Status unknown =
      gate_->Check("/gatehouse.v1.RateLimiter/Check", "Bearer nope");
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(AuthFailures(metrics::GatehouseMetrics::kAuthMissingToken), 1u);
  EXPECT_EQ(AuthFailures(metrics::GatehouseMetrics::kAuthUnknownToken), 1u);
}

TEST_F(TokenGateTest, HealthAndReflectionNeedNoToken) {
  EXPECT_TRUE(gate_->Check("/grpc.health.v1.Health/Check", "").ok());
  EXPECT_TRUE(gate_->Check("/grpc.health.v1.Health/Watch", "").ok());
  EXPECT_TRUE(gate_
                  ->Check("/grpc.reflection.v1alpha.ServerReflection/"
                          "ServerReflectionInfo",
                          "")
                  .ok());
  EXPECT_FALSE(gate_->Check("/grpc.healthy/Check", "").ok());
  EXPECT_FALSE(gate_->Check("/grpc.reflection.Other/Call", "").ok());
  EXPECT_FALSE(gate_->Check("", "").ok());
}

}  // namespace
}  // namespace gatehouse
