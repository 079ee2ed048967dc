#ifndef GATEHOUSE_SERVICE_GRPC_BATCH_STREAM_H_
#define GATEHOUSE_SERVICE_GRPC_BATCH_STREAM_H_

#include <grpcpp/server_context.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/server_callback.h>

#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "service/grpc/call_pipeline.h"

namespace gatehouse {

class BatchStreamReactor;

// The calls of gatehouse.v1.RateLimiter/BatchStream: each BatchRequest read
// is answered as a Batch call of it would be (HandleBatchAsync), one message at
// a time per stream, answers in the order read. Each message is a unit of
// work of the pipeline (admitted under --max_inflight_calls, decided inline
// or on the pool, counted as a call of "BatchStream"). A status Batch would
// return for the whole call ends the stream with it once the answers before
// it are sent. Reading pauses while kMaxQueuedAnswers answers wait for the
// transport, so a client that does not read holds bounded memory.
//
// Keeps the open streams so that a server shutting down can end them
// (CloseAll) rather than wait for its grace period. Thread-safe; must
// outlive every stream it opened (gRPC's server shut down first).
class BatchStreams {
 public:
  static constexpr size_t kMaxQueuedAnswers = 8;

  // The pipeline must outlive the streams.
  explicit BatchStreams(const CallPipeline* pipeline) : pipeline_(pipeline) {}
  BatchStreams(const BatchStreams&) = delete;
  BatchStreams& operator=(const BatchStreams&) = delete;

  // The reactor of a new stream (owned by gRPC until its OnDone).
  grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* Open(
      grpc::CallbackServerContext* context);

  // Ends every open stream with UNAVAILABLE once the message it is deciding
  // (if any) is answered, reading nothing more; streams opened later end so
  // at once.
  void CloseAll();

 private:
  friend class BatchStreamReactor;
  // Called by a stream from OnDone, before it is deleted.
  void Remove(BatchStreamReactor* stream);

  const CallPipeline* const pipeline_;
  absl::Mutex mu_;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  absl::flat_hash_set<BatchStreamReactor*> open_ ABSL_GUARDED_BY(mu_);
};

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_GRPC_BATCH_STREAM_H_
