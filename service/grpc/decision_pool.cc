#include "service/grpc/decision_pool.h"

#include <utility>

namespace gatehouse {

DecisionPool::DecisionPool(int threads) {
  threads_.reserve(threads);
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Loop(); });
}

DecisionPool::~DecisionPool() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  for (std::thread& t : threads_) t.join();
}

void DecisionPool::Run(Work work) {
  absl::MutexLock lock(&mu_);
  queue_.push_back(std::move(work));
}

void DecisionPool::Loop() {
  auto has_work_or_stopping = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return stopping_ || !queue_.empty();
  };
  mu_.Lock();
  while (true) {
    mu_.Await(absl::Condition(&has_work_or_stopping));
    if (queue_.empty()) break;  // Stopping, and nothing left to run.
    Work work = std::move(queue_.front());
    queue_.pop_front();
    mu_.Unlock();
    std::move(work)();
    mu_.Lock();
  }
  mu_.Unlock();
}

}  // namespace gatehouse
