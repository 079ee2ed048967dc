#include "service/auth/authenticator.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace gatehouse {

Authenticator::Authenticator(std::shared_ptr<const Credentials> credentials,
                             std::optional<PeerAllowlist> peer_allowlist)
    : peer_allowlist_(std::move(peer_allowlist)),
      credentials_(std::move(credentials)) {}

void Authenticator::SetCredentials(
    std::shared_ptr<const Credentials> credentials) {
  absl::MutexLock lock(&mu_);
  credentials_ = std::move(credentials);
}

absl::StatusOr<Caller> Authenticator::Authorize(
    absl::string_view authorization, Scope scope,
    const std::vector<std::string>& policies, AuthFailure* failure) const {
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
  if (client->scopes.count(scope) == 0 &&
      client->scopes.count(Scope::kAdmin) == 0) {
    why = AuthFailure::kMissingScope;
    return absl::PermissionDeniedError(
        absl::StrCat("client ", client->id, " lacks scope ", ScopeName(scope)));
  }
  if (client->policies.has_value()) {
    for (const std::string& p : policies) {
      if (client->policies->count(p) == 0) {
        why = AuthFailure::kPolicyNotAllowed;
        return absl::PermissionDeniedError(
            absl::StrCat("client ", client->id, " may not use policy ", p));
      }
    }
  }
  return Caller{client->id, client->policies};
}

}  // namespace gatehouse
