#include "service/grpc/rate_limiter_service.h"

#include <spdlog/spdlog.h>

#include "service/grpc/proto_convert.h"
#include "service/grpc/status_convert.h"

namespace gatehouse {
namespace {

Scope ScopeOf(Operation op) {
  switch (op) {
    case Operation::kCheck:
      return Scope::kCheck;
    case Operation::kPeek:
      return Scope::kPeek;
    case Operation::kRecord:
      return Scope::kRecord;
    case Operation::kReset:
      return Scope::kReset;
  }
  return Scope::kAdmin;
}

absl::string_view AuthorizationOf(const grpc::ServerContext& context) {
  const auto& md = context.client_metadata();
  auto it = md.find("authorization");
  if (it == md.end()) return {};
  return absl::string_view(it->second.data(), it->second.size());
}

}  // namespace

template <typename RequestProto, typename ResponseProto>
grpc::Status RateLimiterService::Handle(Operation op,
                                        grpc::ServerContext* context,
                                        const RequestProto& request,
                                        ResponseProto* response) {
  if (authenticator_ != nullptr) {
    std::vector<std::string> policies;
    policies.reserve(request.subjects_size());
    for (const v1::Subject& s : request.subjects())
      policies.push_back(s.policy());
    absl::StatusOr<Caller> caller = authenticator_->Authorize(
        AuthorizationOf(*context), ScopeOf(op), policies);
    if (!caller.ok()) return ToGrpcStatus(caller.status());
  }
  absl::StatusOr<Response> result =
      limiter_->Run(op, FromProto(request.subjects(), request.context()));
  if (!result.ok()) {
    if (absl::IsUnavailable(result.status()) ||
        absl::IsDataLoss(result.status())) {
      spdlog::error("{} failed: {}", OperationName(op),
                    result.status().ToString());
    }
    return ToGrpcStatus(result.status());
  }
  ToProto(*result, response);
  return grpc::Status::OK;
}

grpc::Status RateLimiterService::Check(grpc::ServerContext* context,
                                       const v1::CheckRequest* request,
                                       v1::CheckResponse* response) {
  return Handle(Operation::kCheck, context, *request, response);
}

grpc::Status RateLimiterService::Peek(grpc::ServerContext* context,
                                      const v1::PeekRequest* request,
                                      v1::PeekResponse* response) {
  return Handle(Operation::kPeek, context, *request, response);
}

grpc::Status RateLimiterService::Record(grpc::ServerContext* context,
                                        const v1::RecordRequest* request,
                                        v1::RecordResponse* response) {
  return Handle(Operation::kRecord, context, *request, response);
}

grpc::Status RateLimiterService::Reset(grpc::ServerContext* context,
                                       const v1::ResetRequest* request,
                                       v1::ResetResponse* response) {
  return Handle(Operation::kReset, context, *request, response);
}

}  // namespace gatehouse
