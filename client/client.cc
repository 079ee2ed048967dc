#include "client/client.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"

namespace gatehouse {
namespace {

// Errors the service returns for a request it understood and refused: the
// service is healthy, so the Result is not degraded.
bool IsCallerError(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::NOT_FOUND:
    case grpc::StatusCode::UNAUTHENTICATED:
    case grpc::StatusCode::PERMISSION_DENIED:
      return true;
    default:
      return false;
  }
}

std::shared_ptr<grpc::Channel> MakeChannel(const ClientOptions& options) {
  return grpc::CreateChannel(options.target,
                             options.channel_credentials != nullptr
                                 ? options.channel_credentials
                                 : grpc::InsecureChannelCredentials());
}

}  // namespace

std::unique_ptr<Client> Client::Create(ClientOptions options) {
  const absl::Status valid = ValidateOptions(options);
  grpc::Status options_status =
      valid.ok() ? grpc::Status::OK
                 : grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                std::string(valid.message()));
  return std::unique_ptr<Client>(
      new Client(std::move(options), std::move(options_status)));
}

absl::Status Client::ValidateOptions(const ClientOptions& options) {
  if (options.target.empty()) {
    return absl::InvalidArgumentError("target: empty");
  }
  if (options.deadline <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("deadline: must be positive, got ",
                     absl::FormatDuration(options.deadline)));
  }
  for (size_t i = 0; i < options.token.size(); ++i) {
    const unsigned char c = options.token[i];
    if (c < 0x20 || c > 0x7e) {
      return absl::InvalidArgumentError(absl::StrCat(
          "token: byte 0x", absl::Hex(c, absl::kZeroPad2), " at offset ", i,
          " cannot be sent in a gRPC header (printable ASCII only)"));
    }
  }
  return absl::OkStatus();
}

Client::Client(ClientOptions options, grpc::Status options_status)
    : options_(std::move(options)),
      options_status_(std::move(options_status)),
      channel_(options_status_.ok() ? MakeChannel(options_) : nullptr),
      stub_(channel_ != nullptr ? v1::RateLimiter::NewStub(channel_)
                                : nullptr) {}

Client::~Client() = default;

template <typename Response, typename Rpc>
Client::Result Client::Call(std::optional<absl::Duration> deadline,
                            Rpc rpc) const {
  if (!options_status_.ok()) return Failed(options_status_);
  grpc::ClientContext context;
  context.set_deadline(
      absl::ToChronoTime(absl::Now() + deadline.value_or(options_.deadline)));
  if (!options_.token.empty()) {
    context.AddMetadata("authorization",
                        absl::StrCat("Bearer ", options_.token));
  }
  Response response;
  grpc::Status status = rpc(&context, &response);
  if (!status.ok()) return Failed(std::move(status));

  Result result;
  result.allowed = response.allowed();
  result.verdicts.assign(
      std::make_move_iterator(response.mutable_verdicts()->begin()),
      std::make_move_iterator(response.mutable_verdicts()->end()));
  return result;
}

Client::Result Client::Failed(grpc::Status status) const {
  Result result;
  result.allowed = options_.failure_mode == FailureMode::kFailOpen;
  result.degraded = !IsCallerError(status.error_code());
  result.status = std::move(status);
  return result;
}

Client::Result Client::Check(const v1::CheckRequest& request,
                             std::optional<absl::Duration> deadline) const {
  return Call<v1::CheckResponse>(
      deadline, [&](grpc::ClientContext* context, v1::CheckResponse* response) {
        return stub_->Check(context, request, response);
      });
}

Client::Result Client::Peek(const v1::PeekRequest& request,
                            std::optional<absl::Duration> deadline) const {
  return Call<v1::PeekResponse>(
      deadline, [&](grpc::ClientContext* context, v1::PeekResponse* response) {
        return stub_->Peek(context, request, response);
      });
}

Client::Result Client::Record(const v1::RecordRequest& request,
                              std::optional<absl::Duration> deadline) const {
  return Call<v1::RecordResponse>(deadline, [&](grpc::ClientContext* context,
                                                v1::RecordResponse* response) {
    return stub_->Record(context, request, response);
  });
}

Client::Result Client::Reset(const v1::ResetRequest& request,
                             std::optional<absl::Duration> deadline) const {
  return Call<v1::ResetResponse>(
      deadline, [&](grpc::ClientContext* context, v1::ResetResponse* response) {
        return stub_->Reset(context, request, response);
      });
}

v1::Subject Client::MakeSubject(absl::string_view policy,
                                std::map<std::string, std::string> key,
                                uint64_t hits) {
  v1::Subject subject;
  subject.set_policy(std::string(policy));
  for (auto& [name, value] : key) {
    (*subject.mutable_key())[name] = std::move(value);
  }
  subject.set_hits(hits);
  return subject;
}

}  // namespace gatehouse
