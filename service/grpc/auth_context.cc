#include "service/grpc/auth_context.h"

#include <grpc/grpc_security_constants.h>
#include <grpcpp/security/auth_context.h>

namespace gatehouse {

absl::StatusOr<Caller> AuthorizeCall(const Authenticator* authenticator,
                                     const grpc::ServerContextBase& context,
                                     Scope scope,
                                     const std::vector<std::string>& policies,
                                     AuthFailure* failure) {
  absl::StatusOr<Caller> caller =
      AuthenticateCall(authenticator, context, failure);
  if (!caller.ok()) return caller;
  absl::Status permitted =
      Authenticator::Permit(*caller, scope, policies, failure);
  if (!permitted.ok()) return permitted;
  return caller;
}

absl::StatusOr<Caller> AuthenticateCall(const Authenticator* authenticator,
                                        const grpc::ServerContextBase& context,
                                        AuthFailure* failure) {
  if (authenticator == nullptr)
    return Caller{{}, std::nullopt, {Scope::kAdmin}};
  if (const auto& allowlist = authenticator->peer_allowlist();
      allowlist.has_value()) {
    std::vector<std::string> identities;
    std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
    if (auth != nullptr) {
      for (const char* property :
           {GRPC_X509_SAN_PROPERTY_NAME, GRPC_PEER_DNS_PROPERTY_NAME,
            GRPC_PEER_URI_PROPERTY_NAME, GRPC_PEER_SPIFFE_ID_PROPERTY_NAME,
            GRPC_PEER_EMAIL_PROPERTY_NAME}) {
        for (const grpc::string_ref& v : auth->FindPropertyValues(property)) {
          identities.emplace_back(v.data(), v.size());
        }
      }
    }
    if (!allowlist->Allows(identities)) {
      if (failure != nullptr) *failure = AuthFailure::kPeerNotAllowed;
      return absl::PermissionDeniedError(
          "client certificate identity is not on the allowlist");
    }
  }
  const auto& md = context.client_metadata();
  auto it = md.find("authorization");
  absl::string_view header;
  if (it != md.end())
    header = absl::string_view(it->second.data(), it->second.size());
  return authenticator->Authenticate(header, failure);
}

}  // namespace gatehouse
