#ifndef GATEHOUSE_SERVICE_GRPC_AUTH_CONTEXT_H_
#define GATEHOUSE_SERVICE_GRPC_AUTH_CONTEXT_H_

#include <grpcpp/server_context.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "service/auth/authenticator.h"

namespace gatehouse {

// Authorizes the call in `context` (its "authorization" metadata) for
// `scope` on `policies`. A null authenticator (authentication disabled)
// admits everyone as an anonymous caller with access to all policies.
absl::StatusOr<Caller> AuthorizeCall(const Authenticator* authenticator,
                                     const grpc::ServerContextBase& context,
                                     Scope scope,
                                     const std::vector<std::string>& policies,
                                     AuthFailure* failure = nullptr);

// The first half of AuthorizeCall: the client certificate allowlist
// (PERMISSION_DENIED) and the bearer token (UNAUTHENTICATED), for a call
// whose operations are each checked with Authenticator::Permit(). A null
// authenticator admits an anonymous caller with every scope and policy.
absl::StatusOr<Caller> AuthenticateCall(const Authenticator* authenticator,
                                        const grpc::ServerContextBase& context,
                                        AuthFailure* failure = nullptr);

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_GRPC_AUTH_CONTEXT_H_
