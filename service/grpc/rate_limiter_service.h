#ifndef GATEHOUSE_SERVICE_GRPC_RATE_LIMITER_SERVICE_H_
#define GATEHOUSE_SERVICE_GRPC_RATE_LIMITER_SERVICE_H_

#include "gatehouse/v1/ratelimit.grpc.pb.h"
#include "service/grpc/audit_streams.h"
#include "service/grpc/batch_stream.h"
#include "service/grpc/call_pipeline.h"
#include "service/grpc/raw_streaming_method.h"

namespace gatehouse {

// The methods of gatehouse.v1.RateLimiter that decide (the unary ones and
// BatchStream) on gRPC's callback API, WatchCeilings on the synchronous
// API, every request body taken raw (request_parser.h).
using RateLimiterCallbacks = v1::RateLimiter::WithRawCallbackMethod_Check<
    v1::RateLimiter::WithRawCallbackMethod_Peek<
        v1::RateLimiter::WithRawCallbackMethod_Record<
            v1::RateLimiter::WithRawCallbackMethod_Reset<
                v1::RateLimiter::WithRawCallbackMethod_Batch<
                    v1::RateLimiter::WithRawCallbackMethod_BatchStream<
                        v1::RateLimiter::Service>>>>>>;

// gatehouse.v1.RateLimiter: Check, Peek, Record, Reset, Batch and
// BatchStream's messages through the CallPipeline (convert, decide, convert
// back); WatchCeilings follows the audit log for ceiling hits (needs the
// `audit` scope). Thread-safe. The pipeline and what `streams` points to
// must outlive it.
class RateLimiterService final
    : public WithRawServerStreaming<RateLimiterCallbacks> {
 public:
  RateLimiterService(const CallPipeline* pipeline,
                     const AuditStreamOptions& streams);

  grpc::ServerUnaryReactor* Check(grpc::CallbackServerContext* context,
                                  const grpc::ByteBuffer* body,
                                  grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* Peek(grpc::CallbackServerContext* context,
                                 const grpc::ByteBuffer* body,
                                 grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* Record(grpc::CallbackServerContext* context,
                                   const grpc::ByteBuffer* body,
                                   grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* Reset(grpc::CallbackServerContext* context,
                                  const grpc::ByteBuffer* body,
                                  grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* Batch(grpc::CallbackServerContext* context,
                                  const grpc::ByteBuffer* body,
                                  grpc::ByteBuffer* response) override;
  grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* BatchStream(
      grpc::CallbackServerContext* context) override;

  // Ends the open BatchStream calls, and any opened later, with UNAVAILABLE
  // (see BatchStreams::CloseAll): call before shutting the server down, so
  // that idle streams do not hold it for its grace period.
  void CloseBatchStreams() { batch_streams_.CloseAll(); }

 private:
  // Check, Peek, Record or Reset: one operation on the request's subjects.
  template <typename RequestProto, typename ResponseProto>
  grpc::ServerUnaryReactor* ServeOne(Operation op,
                                     grpc::CallbackServerContext* context,
                                     const grpc::ByteBuffer* body,
                                     grpc::ByteBuffer* out);
  grpc::Status ServeWatchCeilings(grpc::ServerContext* context,
                                  const grpc::ByteBuffer* body,
                                  grpc::ServerWriter<v1::CeilingEvent>* writer);

  const CallPipeline* const pipeline_;
  const AuditStreams streams_;
  BatchStreams batch_streams_;
};

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_GRPC_RATE_LIMITER_SERVICE_H_
