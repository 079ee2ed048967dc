#include "service/grpc/token_gate.h"

#include <grpc/grpc_security.h>
#include <grpcpp/security/auth_metadata_processor.h>

#include <string>

#include "absl/strings/match.h"

namespace gatehouse {
namespace {

// Calls that need no token, as before the gate.
bool Unchecked(absl::string_view path) {
  return absl::StartsWith(path, "/grpc.health.v1.Health/") ||
         absl::StartsWith(path, "/grpc.reflection.v1alpha.ServerReflection/") ||
         absl::StartsWith(path, "/grpc.reflection.v1.ServerReflection/");
}

// The request-metrics label of a call to `path`, as its handler counts it;
// null for a path no handler serves (no series for attacker-chosen names).
const char* MethodLabel(absl::string_view path) {
  if (path == "/gatehouse.v1.Audit/Stream") return "AuditStream";
  constexpr absl::string_view kRateLimiter = "/gatehouse.v1.RateLimiter/";
  if (!absl::StartsWith(path, kRateLimiter)) return nullptr;
  path.remove_prefix(kRateLimiter.size());
  for (const char* method : {"Check", "Peek", "Record", "Reset", "Batch",
                             "BatchStream", "WatchCeilings"}) {
    if (path == method) return method;
  }
  return nullptr;
}

// The gate for TLS credentials, through grpcpp's processor interface.
class GateProcessor final : public grpc::AuthMetadataProcessor {
 public:
  explicit GateProcessor(const TokenGate* gate) : gate_(gate) {}
  // The check is a hash and a lookup: run it inline, on the call's thread.
  bool IsBlocking() const override { return false; }
  grpc::Status Process(const InputMetadata& metadata, grpc::AuthContext*,
                       OutputMetadata*, OutputMetadata*) override {
    absl::string_view path, authorization;
    for (const auto& [key, value] : metadata) {
      if (key == ":path") path = absl::string_view(value.data(), value.size());
      if (key == "authorization") {
        authorization = absl::string_view(value.data(), value.size());
      }
    }
    return gate_->Check(path, authorization);
  }

 private:
  const TokenGate* const gate_;
};

// The gate for plaintext, through gRPC's C processor, since
// grpc::InsecureServerCredentials takes none.
void ProcessPlaintext(void* state, grpc_auth_context*, const grpc_metadata* md,
                      size_t num_md, grpc_process_auth_metadata_done_cb done,
                      void* user_data) {
  absl::string_view path, authorization;
  for (size_t i = 0; i < num_md; ++i) {
    const absl::string_view key(
        reinterpret_cast<const char*>(GRPC_SLICE_START_PTR(md[i].key)),
        GRPC_SLICE_LENGTH(md[i].key));
    const absl::string_view value(
        reinterpret_cast<const char*>(GRPC_SLICE_START_PTR(md[i].value)),
        GRPC_SLICE_LENGTH(md[i].value));
    if (key == ":path") path = value;
    if (key == "authorization") authorization = value;
  }
  const grpc::Status status =
      static_cast<const TokenGate*>(state)->Check(path, authorization);
  done(user_data, nullptr, 0, nullptr, 0,
       static_cast<grpc_status_code>(status.error_code()),
       status.ok() ? nullptr : status.error_message().c_str());
}

class GatedPlaintextCredentials final : public grpc::ServerCredentials {
 public:
  explicit GatedPlaintextCredentials(const TokenGate* gate) : gate_(gate) {}
  void SetAuthMetadataProcessor(
      const std::shared_ptr<grpc::AuthMetadataProcessor>&) override {}

 private:
  int AddPortToServer(const std::string& addr, grpc_server* server) override {
    grpc_server_credentials* creds = grpc_insecure_server_credentials_create();
    grpc_server_credentials_set_auth_metadata_processor(
        creds, {ProcessPlaintext, nullptr, const_cast<TokenGate*>(gate_)});
    const int port = grpc_server_add_http2_port(server, addr.c_str(), creds);
    grpc_server_credentials_release(creds);
    return port;
  }

  const TokenGate* const gate_;
};

}  // namespace

grpc::Status TokenGate::Check(absl::string_view path,
                              absl::string_view authorization) const {
  if (Unchecked(path)) return grpc::Status::OK;
  // Pairs with Guard()'s release; always true here.
  guarded_.load(std::memory_order_acquire);
  AuthFailure failure = AuthFailure::kNone;
  absl::StatusOr<Caller> caller =
      authenticator_->Authenticate(authorization, &failure);
  if (caller.ok()) return grpc::Status::OK;
  const grpc::Status refused(grpc::StatusCode::UNAUTHENTICATED,
                             std::string(caller.status().message()));
  if (metrics_ != nullptr) {
    metrics_->RecordAuthFailure(failure);
    if (const char* method = MethodLabel(path); method != nullptr) {
      CallMetrics::Call(metrics_, method).Finish(refused);
    }
  }
  return refused;
}

std::shared_ptr<grpc::ServerCredentials> TokenGate::Guard(
    std::shared_ptr<grpc::ServerCredentials> credentials, bool tls) {
  guarded_.store(true, std::memory_order_release);
  if (!tls) return std::make_shared<GatedPlaintextCredentials>(this);
  credentials->SetAuthMetadataProcessor(std::make_shared<GateProcessor>(this));
  return credentials;
}

}  // namespace gatehouse
