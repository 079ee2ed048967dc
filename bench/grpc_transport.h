#ifndef GATEHOUSE_BENCH_GRPC_TRANSPORT_H_
#define GATEHOUSE_BENCH_GRPC_TRANSPORT_H_

#include <grpcpp/channel.h>
#include <grpcpp/completion_queue.h>
#include <grpcpp/generic/generic_stub.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "bench/transport.h"

namespace gatehouse::bench {

// Opens `count` channels to `address`, each its own TCP connection (gRPC
// would otherwise share one subchannel between identical channels).
std::vector<std::shared_ptr<grpc::Channel>> OpenChannels(
    const std::string& address, int count);

// Calls a gatehouse server through one CompletionQueue. RateLimiter calls
// go through a generic stub: Check, Peek, Record and Reset requests (and
// responses) have the same fields, so one CheckRequest is sent as any of
// them. The floor is grpc.health.v1.Health/Check with an empty request.
class GrpcTransport final : public Transport {
 public:
  // `channels` are shared with other transports; slots are spread over
  // them. `token` (may be empty) is sent as a bearer token.
  GrpcTransport(std::vector<std::shared_ptr<grpc::Channel>> channels,
                std::string token, absl::Duration deadline);
  ~GrpcTransport() override;

  // Calls go on gRPC's completion queue, which takes them from any thread.
  bool StartsWhilePolling() const override { return true; }
  void Start(int slot, const CallSpec& call) override;
  void Poll(SteadyTime deadline, std::vector<Completion>* done) override;

 private:
  struct Call;

  std::vector<std::unique_ptr<grpc::GenericStub>> stubs_;
  const std::string authorization_;
  const absl::Duration deadline_;
  grpc::CompletionQueue cq_;
  std::atomic<int> in_flight_{0};
};

}  // namespace gatehouse::bench

#endif  // GATEHOUSE_BENCH_GRPC_TRANSPORT_H_
