#ifndef GATEHOUSE_CLIENT_COALESCER_H_
#define GATEHOUSE_CLIENT_COALESCER_H_

#include <cstddef>
#include <memory>
#include <string>

#include "absl/time/time.h"
#include "gatehouse/v1/ratelimit.grpc.pb.h"
#include "grpcpp/client_context.h"
#include "grpcpp/support/status.h"

namespace gatehouse {

// Turns concurrent unary Check / Peek / Record / Reset calls from many
// threads into RateLimiter/Batch RPCs: each call becomes one item of the next
// batch, sent when `linger` has passed since the oldest queued item or when
// `max_batch` items are queued (or the service's limits on subjects and size
// would be exceeded). Each caller blocks for its own item's result and gets
// exactly what the unary RPC would have returned: its response, or the
// item's own error status, or the Batch RPC's error. A caller whose deadline
// passes first gets DEADLINE_EXCEEDED at its deadline, even while its batch
// is still in flight (its item is dropped if not yet sent).
//
// Thread-safe. Owns two threads: a sender that forms batches and starts them
// asynchronously (several may be in flight at once) and a receiver that
// takes their completions off a completion queue; nothing busy-waits. Does
// not own the stub, which must outlive the coalescer. The destructor sends
// what is queued, cancels batches still in flight and returns once every
// completion is handled; no call may be made during or after destruction.
class Coalescer {
 public:
  // The service's limits on one batch (see BatchRequest in ratelimit.proto).
  static constexpr size_t kMaxItems = 256;
  static constexpr size_t kMaxSubjects = 1024;
  // Well under the server's 1 MiB message limit.
  static constexpr size_t kMaxBytes = 512 * 1024;

  // REQUIRES: linger > 0; 1 <= max_batch <= kMaxItems. `authorization`,
  // when not empty, is sent as the "authorization" metadata of every batch.
  Coalescer(v1::RateLimiter::Stub* stub, absl::Duration linger,
            size_t max_batch, std::string authorization);
  ~Coalescer();
  Coalescer(const Coalescer&) = delete;
  Coalescer& operator=(const Coalescer&) = delete;

  // Like the stub's blocking calls; only the deadline of `context` is used
  // (each batch carries the latest deadline of its items).
  grpc::Status Check(const grpc::ClientContext& context,
                     const v1::CheckRequest& request,
                     v1::CheckResponse* response);
  grpc::Status Peek(const grpc::ClientContext& context,
                    const v1::PeekRequest& request, v1::PeekResponse* response);
  grpc::Status Record(const grpc::ClientContext& context,
                      const v1::RecordRequest& request,
                      v1::RecordResponse* response);
  grpc::Status Reset(const grpc::ClientContext& context,
                     const v1::ResetRequest& request,
                     v1::ResetResponse* response);

 private:
  class Core;

  // Queues `item` and waits for its result until `context`'s deadline.
  grpc::Status Submit(const grpc::ClientContext& context, v1::BatchItem item,
                      v1::BatchResult* result);

  const std::unique_ptr<Core> core_;
};

}  // namespace gatehouse

#endif  // GATEHOUSE_CLIENT_COALESCER_H_
