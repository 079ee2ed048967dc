#include "service/auth/authenticator.h"

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "service/auth/credentials.h"

namespace gatehouse {
namespace {

constexpr Scope kAllScopes[] = {Scope::kCheck, Scope::kPeek,  Scope::kRecord,
                                Scope::kReset, Scope::kAudit, Scope::kAdmin};

std::string HashOf(const std::string& token) {
  return HexEncode(Sha256(token));
}

std::shared_ptr<const Credentials> ParseOrDie(const std::string& yaml) {
  absl::StatusOr<std::shared_ptr<const Credentials>> creds =
      Credentials::Parse(yaml, "clients.yaml");
  EXPECT_TRUE(creds.ok()) << creds.status();
  return creds.ok() ? *creds : nullptr;
}

// gateway: check and peek on two policies; auditor: audit only, any policy;
// root: admin, any policy; scoped-admin: admin on one policy.
std::shared_ptr<const Credentials> StandardCredentials() {
  return ParseOrDie(
      absl::StrCat("clients:\n"
                   "  - id: gateway\n"
                   "    token_sha256: [",
                   HashOf("gateway-token"),
                   "]\n"
                   "    scopes: [check, peek]\n"
                   "    policies: [login_ip, failed_auth_user_ip]\n"
                   "  - id: auditor\n"
                   "    token_sha256: [",
                   HashOf("auditor-token"),
                   "]\n"
                   "    scopes: [audit]\n"
                   "  - id: root\n"
                   "    token_sha256: [",
                   HashOf("root-token"),
                   "]\n"
                   "    scopes: [admin]\n"
                   "  - id: scoped-admin\n"
                   "    token_sha256: [",
                   HashOf("scoped-admin-token"),
                   "]\n"
                   "    scopes: [admin]\n"
                   "    policies: [login_ip]\n"));
}

class AuthenticatorTest : public ::testing::Test {
 protected:
  absl::StatusCode Code(const std::string& authorization, Scope scope,
                        const std::vector<std::string>& policies = {}) {
    return auth_.Authorize(authorization, scope, policies).status().code();
  }

  // The client id, or "" and a test failure.
  std::string ClientOf(const std::string& authorization, Scope scope,
                       const std::vector<std::string>& policies = {}) {
    absl::StatusOr<Caller> caller =
        auth_.Authorize(authorization, scope, policies);
    EXPECT_TRUE(caller.ok()) << authorization << ": " << caller.status();
    return caller.ok() ? caller->client_id : "";
  }

  Authenticator auth_{StandardCredentials()};
};

TEST_F(AuthenticatorTest, KnownTokenWithTheScopeIsTheClient) {
  EXPECT_EQ(ClientOf("Bearer gateway-token", Scope::kCheck, {"login_ip"}),
            "gateway");
  EXPECT_EQ(ClientOf("Bearer auditor-token", Scope::kAudit), "auditor");
}

TEST_F(AuthenticatorTest, SchemeNameIsCaseInsensitive) {
  EXPECT_EQ(ClientOf("bearer gateway-token", Scope::kPeek), "gateway");
  EXPECT_EQ(ClientOf("BEARER gateway-token", Scope::kPeek), "gateway");
}

TEST_F(AuthenticatorTest, MissingHeaderIsUnauthenticated) {
  EXPECT_EQ(Code("", Scope::kCheck), absl::StatusCode::kUnauthenticated);
}

TEST_F(AuthenticatorTest, HeaderWithoutBearerSchemeIsUnauthenticated) {
  EXPECT_EQ(Code("gateway-token", Scope::kCheck),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(Code("Basic Z2F0ZXdheTp0b2tlbg==", Scope::kCheck),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(Code("Bearergateway-token", Scope::kCheck),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(Code("Bearer", Scope::kCheck), absl::StatusCode::kUnauthenticated);
}

TEST_F(AuthenticatorTest, EmptyTokenIsUnauthenticated) {
  absl::StatusOr<Caller> caller = auth_.Authorize("Bearer ", Scope::kCheck, {});
  EXPECT_EQ(caller.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(absl::StrContains(caller.status().message(), "Bearer <token>"))
      << caller.status();
}

TEST_F(AuthenticatorTest, UnknownTokenIsUnauthenticated) {
  absl::StatusOr<Caller> caller =
      auth_.Authorize("Bearer stolen-token", Scope::kCheck, {});
  EXPECT_EQ(caller.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(absl::StrContains(caller.status().message(), "unknown token"))
      << caller.status();
  // The message never echoes the token.
  EXPECT_FALSE(absl::StrContains(caller.status().message(), "stolen"))
      << caller.status();
  // A known token with extra characters is another token.
  EXPECT_EQ(Code("Bearer gateway-token ", Scope::kCheck),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(Code("Bearer  gateway-token", Scope::kCheck),
            absl::StatusCode::kUnauthenticated);
}

TEST_F(AuthenticatorTest, ClientWithoutTheScopeIsPermissionDenied) {
  absl::StatusOr<Caller> caller =
      auth_.Authorize("Bearer gateway-token", Scope::kReset, {"login_ip"});
  EXPECT_EQ(caller.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(absl::StrContains(caller.status().message(),
                                "client gateway lacks scope reset"))
      << caller.status();
  EXPECT_EQ(Code("Bearer gateway-token", Scope::kRecord),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(Code("Bearer gateway-token", Scope::kAudit),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(Code("Bearer gateway-token", Scope::kAdmin),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(Code("Bearer auditor-token", Scope::kCheck),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(AuthenticatorTest, AdminImpliesEveryScope) {
  for (Scope scope : kAllScopes) {
    EXPECT_EQ(ClientOf("Bearer root-token", scope, {"any_policy"}), "root")
        << ScopeName(scope);
  }
}

TEST_F(AuthenticatorTest, PolicyOutsideTheAllowlistIsPermissionDenied) {
  EXPECT_EQ(ClientOf("Bearer gateway-token", Scope::kCheck,
                     {"login_ip", "failed_auth_user_ip"}),
            "gateway");
  absl::StatusOr<Caller> caller = auth_.Authorize(
      "Bearer gateway-token", Scope::kCheck, {"login_ip", "failed_auth_ip"});
  EXPECT_EQ(caller.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(absl::StrContains(caller.status().message(),
                                "client gateway may not use policy "
                                "failed_auth_ip"))
      << caller.status();
}

TEST_F(AuthenticatorTest, AdminIsStillBoundByItsPolicyAllowlist) {
  EXPECT_EQ(ClientOf("Bearer scoped-admin-token", Scope::kReset, {"login_ip"}),
            "scoped-admin");
  EXPECT_EQ(Code("Bearer scoped-admin-token", Scope::kReset, {"other"}),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(AuthenticatorTest, ClientWithoutAllowlistMayUseAnyPolicy) {
  EXPECT_EQ(ClientOf("Bearer auditor-token", Scope::kAudit,
                     {"login_ip", "anything_else"}),
            "auditor");
}

TEST_F(AuthenticatorTest, AuthenticateOnceThenPermitEachOperation) {
  AuthFailure failure = AuthFailure::kNone;
  absl::StatusOr<Caller> gateway =
      auth_.Authenticate("Bearer gateway-token", &failure);
  ASSERT_TRUE(gateway.ok()) << gateway.status();
  EXPECT_EQ(gateway->client_id, "gateway");
  EXPECT_EQ(failure, AuthFailure::kNone);

  EXPECT_TRUE(
      Authenticator::Permit(*gateway, Scope::kCheck, {"login_ip"}).ok());
  EXPECT_EQ(
      Authenticator::Permit(*gateway, Scope::kRecord, {"login_ip"}, &failure)
          .code(),
      absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(failure, AuthFailure::kMissingScope);
  EXPECT_EQ(
      Authenticator::Permit(*gateway, Scope::kPeek, {"other"}, &failure).code(),
      absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(failure, AuthFailure::kPolicyNotAllowed);

  absl::StatusOr<Caller> root = auth_.Authenticate("Bearer root-token");
  ASSERT_TRUE(root.ok());
  EXPECT_TRUE(Authenticator::Permit(*root, Scope::kReset, {"any"}).ok());

  EXPECT_EQ(auth_.Authenticate("Bearer nope", &failure).status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(failure, AuthFailure::kUnknownToken);
  EXPECT_EQ(auth_.Authenticate("", &failure).status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(failure, AuthFailure::kMissingToken);
}

TEST_F(AuthenticatorTest, SetCredentialsSwapsTheWholeSet) {
  auth_.SetCredentials(
      ParseOrDie(absl::StrCat("clients:\n  - id: gateway\n    token_sha256: [",
                              HashOf("gateway-token-rotated"),
                              "]\n    scopes: [check, peek, record]\n")));
  EXPECT_EQ(Code("Bearer gateway-token", Scope::kCheck),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(Code("Bearer root-token", Scope::kCheck),
            absl::StatusCode::kUnauthenticated);
  // The new set's scopes and (absent) allowlist apply.
  EXPECT_EQ(ClientOf("Bearer gateway-token-rotated", Scope::kRecord,
                     {"failed_auth_ip"}),
            "gateway");
}

TEST_F(AuthenticatorTest, CallsDuringSwapsSeeOneWholeSet) {
  // Both sets know one token, under different ids and scopes; a call that
  // mixed them would see "blue" with a scope only "green" has, or fail.
  auto green = ParseOrDie(
      absl::StrCat("clients:\n  - id: green\n    token_sha256: [",
                   HashOf("shared-token"), "]\n    scopes: [check]\n"));
  auto blue = ParseOrDie(
      absl::StrCat("clients:\n  - id: blue\n    token_sha256: [",
                   HashOf("shared-token"), "]\n    scopes: [peek]\n"));
  ASSERT_NE(green, nullptr);
  ASSERT_NE(blue, nullptr);
  auth_.SetCredentials(green);

  std::atomic<bool> stop{false};
  std::thread swapper([&] {
    for (int i = 0; i < 2000; ++i) auth_.SetCredentials(i % 2 ? green : blue);
    stop = true;
  });
  // Each call sees green (check only) or blue (peek only), never neither.
  int inconsistent = 0;
  while (!stop) {
    absl::StatusOr<Caller> check =
        auth_.Authorize("Bearer shared-token", Scope::kCheck, {});
    absl::StatusOr<Caller> peek =
        auth_.Authorize("Bearer shared-token", Scope::kPeek, {});
    if (check.ok()
            ? check->client_id != "green"
            : check.status().code() != absl::StatusCode::kPermissionDenied) {
      ++inconsistent;
    }
    if (peek.ok()
            ? peek->client_id != "blue"
            : peek.status().code() != absl::StatusCode::kPermissionDenied) {
      ++inconsistent;
    }
  }
  swapper.join();
  EXPECT_EQ(inconsistent, 0);
  // The swapper ends on green.
  EXPECT_EQ(ClientOf("Bearer shared-token", Scope::kCheck), "green");
  EXPECT_EQ(Code("Bearer shared-token", Scope::kPeek),
            absl::StatusCode::kPermissionDenied);
}

}  // namespace
}  // namespace gatehouse
