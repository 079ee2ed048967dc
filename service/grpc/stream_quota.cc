#include "service/grpc/stream_quota.h"

namespace gatehouse {

std::unique_ptr<StreamQuota::Lease> StreamQuota::Acquire(
    const std::string& client) {
  absl::MutexLock lock(&mu_);
  int& n = open_[client];
  if (max_ > 0 && n >= max_) return nullptr;
  ++n;
  return std::unique_ptr<Lease>(new Lease(this, client));
}

void StreamQuota::Release(const std::string& client) {
  absl::MutexLock lock(&mu_);
  auto it = open_.find(client);
  if (it != open_.end() && --it->second <= 0) open_.erase(it);
}

int StreamQuota::open(const std::string& client) const {
  absl::MutexLock lock(&mu_);
  auto it = open_.find(client);
  return it == open_.end() ? 0 : it->second;
}

}  // namespace gatehouse
