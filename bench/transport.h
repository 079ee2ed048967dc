#ifndef GATEHOUSE_BENCH_TRANSPORT_H_
#define GATEHOUSE_BENCH_TRANSPORT_H_

#include <chrono>
#include <string>
#include <vector>

#include "bench/workload.h"

namespace gatehouse::bench {

using SteadyTime = std::chrono::steady_clock::time_point;

// The outcome of one call.
struct Completion {
  int slot = 0;
  bool ok = false;
  int decisions = 0;  // Subjects decided (1 for the floor).
  int denied = 0;     // Of which denied.
  std::string error;  // When !ok.
};

// Carries calls to one kind of server for one load thread: gRPC
// (grpc_transport.h) or Redis (redis_transport.h). Calls are asynchronous:
// Start() sends, a later Poll() reports the completion.
//
// Not thread-safe: each load thread owns one. A transport whose
// StartsWhilePolling() is true also takes Start() from one other thread
// while Poll() runs.
class Transport {
 public:
  virtual ~Transport() = default;
  // Whether Start() may be called while another thread is in Poll().
  virtual bool StartsWhilePolling() const { return false; }
  // Sends `call` on behalf of `slot` (at most one call per slot at a time).
  virtual void Start(int slot, const CallSpec& call) = 0;
  // Waits until `deadline` at most for completions and appends those that
  // arrived to `done` (possibly none).
  virtual void Poll(SteadyTime deadline, std::vector<Completion>* done) = 0;
};

}  // namespace gatehouse::bench

#endif  // GATEHOUSE_BENCH_TRANSPORT_H_
