#include "service/grpc/auth_context.h"

namespace gatehouse {

absl::StatusOr<Caller> AuthorizeCall(const Authenticator* authenticator,
                                     const grpc::ServerContext& context,
                                     Scope scope,
                                     const std::vector<std::string>& policies,
                                     AuthFailure* failure) {
  if (authenticator == nullptr) return Caller{};
  const auto& md = context.client_metadata();
  auto it = md.find("authorization");
  absl::string_view header;
  if (it != md.end())
    header = absl::string_view(it->second.data(), it->second.size());
  return authenticator->Authorize(header, scope, policies, failure);
}

}  // namespace gatehouse
