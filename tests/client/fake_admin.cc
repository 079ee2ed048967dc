#include "tests/client/fake_admin.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace gatehouse {

void FakeAdmin::SetStatus(grpc::Status status) {
  absl::MutexLock lock(&mu_);
  status_ = std::move(status);
}

void FakeAdmin::SetBlockResponse(v1::BlockResponse response) {
  absl::MutexLock lock(&mu_);
  block_ = std::move(response);
}

void FakeAdmin::SetUnblockResponse(v1::UnblockResponse response) {
  absl::MutexLock lock(&mu_);
  unblock_ = std::move(response);
}

void FakeAdmin::SetInspectResponse(v1::InspectResponse response) {
  absl::MutexLock lock(&mu_);
  inspect_ = std::move(response);
}

void FakeAdmin::SetLockouts(std::vector<v1::Lockout> lockouts) {
  absl::MutexLock lock(&mu_);
  lockouts_ = std::move(lockouts);
}

std::vector<FakeAdmin::Call> FakeAdmin::calls() const {
  absl::MutexLock lock(&mu_);
  return calls_;
}

grpc::Status FakeAdmin::Record(grpc::ServerContext& context, Call call) {
  const auto& metadata = context.client_metadata();
  if (auto it = metadata.find("authorization"); it != metadata.end()) {
    call.authorization = std::string(it->second.data(), it->second.size());
  }
  calls_.push_back(std::move(call));
  return status_;
}

grpc::Status FakeAdmin::Block(grpc::ServerContext* context,
                              const v1::BlockRequest* request,
                              v1::BlockResponse* response) {
  absl::MutexLock lock(&mu_);
  Call call;
  call.method = "Block";
  call.block = *request;
  grpc::Status status = Record(*context, std::move(call));
  if (status.ok()) *response = block_;
  return status;
}

grpc::Status FakeAdmin::Unblock(grpc::ServerContext* context,
                                const v1::UnblockRequest* request,
                                v1::UnblockResponse* response) {
  absl::MutexLock lock(&mu_);
  Call call;
  call.method = "Unblock";
  call.unblock = *request;
  grpc::Status status = Record(*context, std::move(call));
  if (status.ok()) *response = unblock_;
  return status;
}

grpc::Status FakeAdmin::Inspect(grpc::ServerContext* context,
                                const v1::InspectRequest* request,
                                v1::InspectResponse* response) {
  absl::MutexLock lock(&mu_);
  Call call;
  call.method = "Inspect";
  call.inspect = *request;
  grpc::Status status = Record(*context, std::move(call));
  if (status.ok()) *response = inspect_;
  return status;
}

grpc::Status FakeAdmin::ListLockouts(grpc::ServerContext* context,
                                     const v1::ListLockoutsRequest* request,
                                     v1::ListLockoutsResponse* response) {
  absl::MutexLock lock(&mu_);
  Call call;
  call.method = "ListLockouts";
  call.list = *request;
  grpc::Status status = Record(*context, std::move(call));
  if (!status.ok()) return status;
  if (request->page_size() > 1000) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "page_size: at most 1000");
  }
  const size_t page_size =
      request->page_size() == 0 ? 100 : request->page_size();
  size_t begin = 0;
  if (!request->page_token().empty()) {
    absl::string_view token = request->page_token();
    if (!absl::ConsumePrefix(&token, "at:") ||
        !absl::SimpleAtoi(token, &begin) || begin > lockouts_.size()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "page_token: unknown");
    }
  }
  const size_t end = std::min(lockouts_.size(), begin + page_size);
  for (size_t i = begin; i < end; ++i) *response->add_lockouts() = lockouts_[i];
  if (end < lockouts_.size()) {
    response->set_next_page_token(absl::StrCat("at:", end));
  }
  return grpc::Status::OK;
}

}  // namespace gatehouse
