#include "tests/client/fake_rate_limiter.h"

#include <utility>

#include "absl/time/clock.h"

namespace gatehouse {

void FakeRateLimiter::SetReply(grpc::Status status, bool allowed,
                               std::vector<v1::Verdict> verdicts) {
  absl::MutexLock lock(&mu_);
  status_ = std::move(status);
  allowed_ = allowed;
  verdicts_ = std::move(verdicts);
}

void FakeRateLimiter::SetDelay(absl::Duration delay) {
  absl::MutexLock lock(&mu_);
  delay_ = delay;
}

std::vector<FakeRateLimiter::Call> FakeRateLimiter::calls() const {
  absl::MutexLock lock(&mu_);
  return calls_;
}

template <typename Request, typename Response>
grpc::Status FakeRateLimiter::Handle(const char* method,
                                     grpc::ServerContext& context,
                                     const Request& request,
                                     Response& response) {
  Call call;
  call.method = method;
  call.request.mutable_subjects()->CopyFrom(request.subjects());
  call.request.mutable_context()->insert(request.context().begin(),
                                         request.context().end());
  const auto& metadata = context.client_metadata();
  if (auto it = metadata.find("authorization"); it != metadata.end()) {
    call.authorization = std::string(it->second.data(), it->second.size());
  }
  call.peer = context.peer();
  call.time_left = absl::FromChrono(context.deadline()) - absl::Now();

  absl::Duration delay;
  grpc::Status status;
  {
    absl::MutexLock lock(&mu_);
    calls_.push_back(std::move(call));
    delay = delay_;
    status = status_;
    response.set_allowed(allowed_);
    for (const v1::Verdict& verdict : verdicts_) {
      *response.add_verdicts() = verdict;
    }
  }
  // Simulates a slow service; the test is waiting on it, not on time.
  absl::SleepFor(delay);
  return status;
}

grpc::Status FakeRateLimiter::Check(grpc::ServerContext* context,
                                    const v1::CheckRequest* request,
                                    v1::CheckResponse* response) {
  return Handle("Check", *context, *request, *response);
}

grpc::Status FakeRateLimiter::Peek(grpc::ServerContext* context,
                                   const v1::PeekRequest* request,
                                   v1::PeekResponse* response) {
  return Handle("Peek", *context, *request, *response);
}

grpc::Status FakeRateLimiter::Record(grpc::ServerContext* context,
                                     const v1::RecordRequest* request,
                                     v1::RecordResponse* response) {
  return Handle("Record", *context, *request, *response);
}

grpc::Status FakeRateLimiter::Reset(grpc::ServerContext* context,
                                    const v1::ResetRequest* request,
                                    v1::ResetResponse* response) {
  return Handle("Reset", *context, *request, *response);
}

FakeServer::FakeServer()
    : server_(testing::InProcessServer::Start({&service_, &admin_})) {}

FakeServer::~FakeServer() = default;

std::string FakeServer::target() const {
  return server_ == nullptr ? "" : server_->address();
}

}  // namespace gatehouse
