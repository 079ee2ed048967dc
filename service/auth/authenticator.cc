#include "service/auth/authenticator.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace gatehouse {

Authenticator::Authenticator(std::shared_ptr<const Credentials> credentials,
                             std::optional<PeerAllowlist> peer_allowlist)
    : peer_allowlist_(std::move(peer_allowlist)),
      credentials_(std::move(credentials)) {}

const char* AuthFailureName(AuthFailure failure) {
  switch (failure) {
    case AuthFailure::kMissingToken:
      return "missing_token";
    case AuthFailure::kUnknownToken:
      return "unknown_token";
    case AuthFailure::kMissingScope:
      return "missing_scope";
    case AuthFailure::kPolicyNotAllowed:
      return "policy_not_allowed";
    case AuthFailure::kPeerNotAllowed:
      return "peer_not_allowed";
    case AuthFailure::kNone:
      break;
  }
  return "none";
}

void Authenticator::SetCredentials(
    std::shared_ptr<const Credentials> credentials) {
  absl::MutexLock lock(&mu_);
  credentials_ = std::move(credentials);
  generation_.fetch_add(1, std::memory_order_acq_rel);
}

std::shared_ptr<const Credentials> Authenticator::credentials() const {
  absl::MutexLock lock(&mu_);
  return credentials_;
}

absl::StatusOr<Caller> Authenticator::Authorize(
    absl::string_view authorization, Scope scope,
    const std::vector<std::string>& policies, AuthFailure* failure) const {
  absl::StatusOr<Caller> caller = Authenticate(authorization, failure);
  if (!caller.ok()) return caller;
  absl::Status permitted = Permit(*caller, scope, policies, failure);
  if (!permitted.ok()) return permitted;
  return caller;
}

absl::StatusOr<Caller> Authenticator::Authenticate(
    absl::string_view authorization, AuthFailure* failure) const {
  AuthFailure ignored;
  AuthFailure& why = failure != nullptr ? *failure : ignored;
  why = AuthFailure::kNone;
  std::shared_ptr<const Credentials> credentials;
  {
    absl::MutexLock lock(&mu_);
    credentials = credentials_;
  }
  constexpr absl::string_view kBearer = "Bearer ";
  if (!absl::StartsWithIgnoreCase(authorization, kBearer) ||
      authorization.size() == kBearer.size()) {
    why = AuthFailure::kMissingToken;
    return absl::UnauthenticatedError(
        "authorization: a \"Bearer <token>\" header is required");
  }
  const ClientIdentity* client =
      credentials->FindByToken(authorization.substr(kBearer.size()));
  if (client == nullptr) {
    why = AuthFailure::kUnknownToken;
    return absl::UnauthenticatedError("authorization: unknown token");
  }
  return Caller{client->id, client->policies, client->scopes};
}

absl::Status Authenticator::Permit(const Caller& caller, Scope scope,
                                   const std::vector<std::string>& policies,
                                   AuthFailure* failure) {
  AuthFailure ignored;
  AuthFailure& why = failure != nullptr ? *failure : ignored;
  why = AuthFailure::kNone;
  if (caller.scopes.count(scope) == 0 &&
      caller.scopes.count(Scope::kAdmin) == 0) {
    why = AuthFailure::kMissingScope;
    return absl::PermissionDeniedError(absl::StrCat(
        "client ", caller.client_id, " lacks scope ", ScopeName(scope)));
  }
  if (caller.policies.has_value()) {
    for (const std::string& p : policies) {
      if (caller.policies->count(p) == 0) {
        why = AuthFailure::kPolicyNotAllowed;
        return absl::PermissionDeniedError(absl::StrCat(
            "client ", caller.client_id, " may not use policy ", p));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace gatehouse
