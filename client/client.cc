#include "client/client.h"

#include <algorithm>
#include <climits>
#include <random>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/coalescer.h"
#include "client/request_check.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/support/channel_arguments.h"
#include "service/clock/real_clock.h"
#include "service/core/subject_key.h"

namespace gatehouse {
namespace {

// Refusals of the request itself, the caller's doing (its values, or its
// configuration: policy name, token, scopes): the service is healthy, so
// the Result is not degraded and the breaker does not count them.
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

CircuitBreaker::Outcome OutcomeOf(const grpc::Status& status) {
  if (status.ok()) return CircuitBreaker::Outcome::kSuccess;
  return IsCallerError(status.error_code()) ? CircuitBreaker::Outcome::kNeutral
                                            : CircuitBreaker::Outcome::kFailure;
}

std::shared_ptr<grpc::Channel> MakeChannel(const ClientOptions& options) {
  grpc::ChannelArguments args;
  // gRPC's defaults (first retry after 1 s, growing 1.6x up to 120 s) can
  // leave a channel minutes behind a service that restarted; ours reach it
  // within about max_reconnect_backoff. A refused connection costs little.
  const int max_backoff_ms = static_cast<int>(std::min<int64_t>(
      absl::ToInt64Milliseconds(options.max_reconnect_backoff), INT_MAX));
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS,
              std::min(max_backoff_ms, 100));
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, max_backoff_ms);
  return grpc::CreateCustomChannel(options.target,
                                   options.channel_credentials != nullptr
                                       ? options.channel_credentials
                                       : grpc::InsecureChannelCredentials(),
                                   args);
}

std::unique_ptr<CircuitBreaker> MakeBreaker(const ClientOptions& options) {
  CircuitBreaker::Options breaker;
  breaker.failures_before_cooldown = options.failures_before_cooldown;
  breaker.cooldown_initial = options.cooldown_initial;
  breaker.cooldown_max = options.cooldown_max;
  breaker.seed = std::random_device()();
  return std::make_unique<CircuitBreaker>(
      breaker, options.clock != nullptr ? options.clock : RealClock::Get());
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
  if (options.failures_before_cooldown < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("failures_before_cooldown: must be at least 1, got ",
                     options.failures_before_cooldown));
  }
  if (options.cooldown_initial <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("cooldown_initial: must be positive, got ",
                     absl::FormatDuration(options.cooldown_initial)));
  }
  if (options.cooldown_max < options.cooldown_initial) {
    return absl::InvalidArgumentError(
        absl::StrCat("cooldown_max: must be at least cooldown_initial (",
                     absl::FormatDuration(options.cooldown_initial), "), got ",
                     absl::FormatDuration(options.cooldown_max)));
  }
  if (options.peek_retries < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "peek_retries: must not be negative, got ", options.peek_retries));
  }
  if (options.max_reconnect_backoff < absl::Milliseconds(1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_reconnect_backoff: must be at least 1ms, got ",
                     absl::FormatDuration(options.max_reconnect_backoff)));
  }
  if (options.coalesce_linger < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("coalesce_linger: must not be negative, got ",
                     absl::FormatDuration(options.coalesce_linger)));
  }
  if (options.max_batch < 1 || options.max_batch > Coalescer::kMaxItems) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_batch: must be 1..", Coalescer::kMaxItems, ", got ",
                     options.max_batch));
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
      stub_(channel_ != nullptr ? v1::RateLimiter::NewStub(channel_) : nullptr),
      admin_stub_(channel_ != nullptr ? v1::Admin::NewStub(channel_) : nullptr),
      breaker_(options_status_.ok() ? MakeBreaker(options_) : nullptr),
      coalescer_(
          stub_ != nullptr && options_.coalesce_linger > absl::ZeroDuration()
              ? std::make_unique<Coalescer>(
                    stub_.get(), options_.coalesce_linger, options_.max_batch,
                    options_.token.empty()
                        ? std::string()
                        : absl::StrCat("Bearer ", options_.token))
              : nullptr) {}

Client::~Client() = default;

template <typename Rpc>
grpc::Status Client::Send(absl::Time deadline, int retries, Rpc rpc,
                          int* attempts, bool* fail_fast) const {
  grpc::Status status;
  for (int attempt = 0;; ++attempt) {
    absl::StatusOr<CircuitBreaker::Ticket> ticket = breaker_->Admit();
    if (!ticket.ok()) {
      // A retry refused by the breaker keeps the answer it already has.
      if (attempt > 0) return status;
      *fail_fast = true;
      return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                          std::string(ticket.status().message()));
    }
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(deadline));
    // Other calls fail at once while the channel is failing to connect
    // (gRPC stays in TRANSIENT_FAILURE until a connection is up). A probe
    // waits for a connection instead, up to its deadline: without a call
    // waiting on it, gRPC notices a finished connect only every 5 s.
    context.set_wait_for_ready(ticket->probe);
    if (!options_.token.empty()) {
      context.AddMetadata("authorization",
                          absl::StrCat("Bearer ", options_.token));
    }
    status = rpc(&context);
    ++*attempts;
    breaker_->Report(*ticket, OutcomeOf(status));
    if (attempt == retries ||
        status.error_code() != grpc::StatusCode::UNAVAILABLE ||
        absl::Now() >= deadline) {
      return status;
    }
    ++retries_;
  }
}

template <typename Response, typename Rpc>
Client::Result Client::Call(std::optional<absl::Duration> deadline, int retries,
                            const absl::Status& values, Rpc rpc) const {
  if (!options_status_.ok()) {
    // The caller's configuration, not a request's values.
    Result result = Failed(options_status_);
    result.allowed = options_.failure_mode == FailureMode::kFailOpen;
    return result;
  }
  if (!values.ok()) {
    return Failed(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                               std::string(values.message())));
  }
  const absl::Duration timeout = deadline.value_or(options_.deadline);
  if (timeout <= absl::ZeroDuration()) {
    // The caller's doing: sent nowhere, so not held against the service.
    return Failed(grpc::Status(
        grpc::StatusCode::DEADLINE_EXCEEDED,
        absl::StrCat("non-positive deadline ", absl::FormatDuration(timeout))));
  }
  Response response;
  int attempts = 0;
  bool fail_fast = false;
  grpc::Status status = Send(
      absl::Now() + timeout, retries,
      [&](grpc::ClientContext* context) {
        response.Clear();
        return rpc(context, &response);
      },
      &attempts, &fail_fast);
  if (!status.ok()) {
    Result result = Failed(std::move(status));
    result.fail_fast = fail_fast;
    result.attempts = attempts;
    return result;
  }

  Result result;
  result.allowed = response.allowed();
  result.verdicts.assign(
      std::make_move_iterator(response.mutable_verdicts()->begin()),
      std::make_move_iterator(response.mutable_verdicts()->end()));
  result.attempts = attempts;
  return result;
}

Client::Result Client::Failed(grpc::Status status) const {
  Result result;
  result.refused = IsCallerError(status.error_code());
  result.degraded = !result.refused;
  result.allowed = options_.failure_mode == FailureMode::kFailOpen;
  if (status.error_code() == grpc::StatusCode::INVALID_ARGUMENT &&
      options_.invalid_request_mode == InvalidRequestMode::kDeny) {
    result.allowed = false;
  }
  result.status = std::move(status);
  return result;
}

Client::Result Client::Check(const v1::CheckRequest& request,
                             std::optional<absl::Duration> deadline) const {
  return Call<v1::CheckResponse>(
      deadline, /*retries=*/0,
      CheckRequestValues(request.subjects(), request.context()),
      [&](grpc::ClientContext* context, v1::CheckResponse* response) {
        return coalescer_ != nullptr
                   ? coalescer_->Check(*context, request, response)
                   : stub_->Check(context, request, response);
      });
}

Client::Result Client::Peek(const v1::PeekRequest& request,
                            std::optional<absl::Duration> deadline) const {
  return Call<v1::PeekResponse>(
      deadline, options_.peek_retries,
      CheckRequestValues(request.subjects(), request.context()),
      [&](grpc::ClientContext* context, v1::PeekResponse* response) {
        return coalescer_ != nullptr
                   ? coalescer_->Peek(*context, request, response)
                   : stub_->Peek(context, request, response);
      });
}

Client::Result Client::Record(const v1::RecordRequest& request,
                              std::optional<absl::Duration> deadline) const {
  return Call<v1::RecordResponse>(
      deadline, /*retries=*/0,
      CheckRequestValues(request.subjects(), request.context()),
      [&](grpc::ClientContext* context, v1::RecordResponse* response) {
        return coalescer_ != nullptr
                   ? coalescer_->Record(*context, request, response)
                   : stub_->Record(context, request, response);
      });
}

Client::Result Client::Reset(const v1::ResetRequest& request,
                             std::optional<absl::Duration> deadline) const {
  return Call<v1::ResetResponse>(
      deadline, /*retries=*/0,
      CheckRequestValues(request.subjects(), request.context()),
      [&](grpc::ClientContext* context, v1::ResetResponse* response) {
        return coalescer_ != nullptr
                   ? coalescer_->Reset(*context, request, response)
                   : stub_->Reset(context, request, response);
      });
}

template <typename Rpc>
grpc::Status Client::AdminCall(std::optional<absl::Duration> deadline,
                               const absl::Status& values, Rpc rpc) const {
  if (!options_status_.ok()) return options_status_;
  if (!values.ok()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        std::string(values.message()));
  }
  const absl::Duration timeout = deadline.value_or(options_.deadline);
  if (timeout <= absl::ZeroDuration()) {
    return grpc::Status(
        grpc::StatusCode::DEADLINE_EXCEEDED,
        absl::StrCat("non-positive deadline ", absl::FormatDuration(timeout)));
  }
  int attempts = 0;
  bool fail_fast = false;
  return Send(absl::Now() + timeout, /*retries=*/0, rpc, &attempts, &fail_fast);
}

grpc::Status Client::Block(const v1::BlockRequest& request,
                           v1::BlockResponse* response,
                           std::optional<absl::Duration> deadline) const {
  absl::Status values = CheckSubjectValues(request.subject(), "subject");
  if (values.ok()) values = CheckReason(request.reason(), "reason", true);
  return AdminCall(deadline, values, [&](grpc::ClientContext* context) {
    return admin_stub_->Block(context, request, response);
  });
}

grpc::Status Client::Unblock(const v1::UnblockRequest& request,
                             v1::UnblockResponse* response,
                             std::optional<absl::Duration> deadline) const {
  absl::Status values = CheckSubjectValues(request.subject(), "subject");
  if (values.ok()) values = CheckReason(request.reason(), "reason", true);
  return AdminCall(deadline, values, [&](grpc::ClientContext* context) {
    return admin_stub_->Unblock(context, request, response);
  });
}

grpc::Status Client::ListLockouts(
    const v1::ListLockoutsRequest& request, v1::ListLockoutsResponse* response,
    std::optional<absl::Duration> deadline) const {
  absl::Status values = CheckReason(request.reason(), "reason", false);
  if (values.ok() && !IsCleanUtf8(request.policy())) {
    values = absl::InvalidArgumentError(
        "policy: must be UTF-8 without control characters");
  }
  return AdminCall(deadline, values, [&](grpc::ClientContext* context) {
    return admin_stub_->ListLockouts(context, request, response);
  });
}

grpc::Status Client::Inspect(const v1::InspectRequest& request,
                             v1::InspectResponse* response,
                             std::optional<absl::Duration> deadline) const {
  absl::Status values = CheckSubjectValues(request.subject(), "subject");
  if (values.ok()) values = CheckReason(request.reason(), "reason", false);
  return AdminCall(deadline, values, [&](grpc::ClientContext* context) {
    return admin_stub_->Inspect(context, request, response);
  });
}

Client::Stats Client::GetStats() const {
  Stats stats;
  stats.retries = retries_.load();
  if (breaker_ == nullptr) return stats;
  const CircuitBreaker::Stats breaker = breaker_->GetStats();
  stats.failed_fast = breaker.failed_fast;
  stats.cooldowns = breaker.cooldowns;
  stats.cooling_down = breaker.open;
  return stats;
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
