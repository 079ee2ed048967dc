#ifndef GATEHOUSE_SERVICE_GRPC_DECISION_POOL_H_
#define GATEHOUSE_SERVICE_GRPC_DECISION_POOL_H_

#include <deque>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"

namespace gatehouse {

// A fixed set of threads that run the decisions which wait for an fsync
// (--sync_writes), so they do not hold gRPC's callback threads: with a
// decision per thread in flight, RocksDbCounterStore's group commit gathers
// as many commits into one fsync as there are threads waiting. Work runs in
// the order queued. The queue itself is not bounded: callers bound it (the
// service admits a call under --max_inflight_calls before queueing it).
// Thread-safe.
class DecisionPool {
 public:
  using Work = absl::AnyInvocable<void() &&>;

  // Starts `threads` (>= 1) threads.
  explicit DecisionPool(int threads);
  // Runs whatever is still queued, then joins the threads.
  ~DecisionPool();
  DecisionPool(const DecisionPool&) = delete;
  DecisionPool& operator=(const DecisionPool&) = delete;

  void Run(Work work);

  int threads() const { return static_cast<int>(threads_.size()); }

 private:
  void Loop();

  absl::Mutex mu_;
  std::deque<Work> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_GRPC_DECISION_POOL_H_
