#ifndef GATEHOUSE_SERVICE_GRPC_RATE_LIMITER_SERVICE_H_
#define GATEHOUSE_SERVICE_GRPC_RATE_LIMITER_SERVICE_H_

#include "gatehouse/v1/ratelimit.grpc.pb.h"
#include "service/audit/refusal_aggregator.h"
#include "service/auth/authenticator.h"
#include "service/core/audit_log.h"
#include "service/core/limiter.h"
#include "service/grpc/call_metrics.h"
#include "service/grpc/decision_pool.h"
#include "service/grpc/inflight_limit.h"
#include "service/grpc/stream_quota.h"
#include "service/logging/log_rate_limiter.h"

namespace gatehouse {

// The unary methods of gatehouse.v1.RateLimiter on gRPC's callback API, the
// streaming one (WatchCeilings) on the synchronous API. A unary call is
// decided inline on the gRPC thread that read it, which spares the hand-off
// to a worker thread that the synchronous API makes on every call; with a
// DecisionPool (--sync_writes), on one of the pool's threads. Every method
// takes its request body raw and parses it itself (request_parser.h), so an
// unparsable body is an INVALID_ARGUMENT the service counts and logs.
using RateLimiterUnaryCallbacks = v1::RateLimiter::WithRawCallbackMethod_Check<
    v1::RateLimiter::WithRawCallbackMethod_Peek<
        v1::RateLimiter::WithRawCallbackMethod_Record<
            v1::RateLimiter::WithRawCallbackMethod_Reset<
                v1::RateLimiter::WithRawCallbackMethod_Batch<
                    v1::RateLimiter::Service>>>>>;

// gatehouse.v1.RateLimiter over a Limiter: authorize, convert, decide,
// convert back; WatchCeilings follows the audit log for ceiling hits (needs
// the `audit` scope). Thread-safe. Does not own the limiter, the log or the
// authenticator, which must outlive it. A null authenticator disables
// authentication (only main.cc's --allow_unauthenticated on loopback, and
// tests).
class RateLimiterService final : public RateLimiterUnaryCallbacks {
 public:
  // `log_limiter` (may be null: log every event) paces the log lines for
  // ceiling hits, authentication failures, storage errors and shed calls.
  // `inflight` (may be null: no bound) bounds the Check, Peek, Record,
  // Reset and Batch calls worked on (or queued for `pool`) at once; more
  // are refused RESOURCE_EXHAUSTED on arrival. `pool` (may be null: decide
  // inline) runs the decisions of those calls. `refusals` (may be null:
  // each refused call is audited as an event of its own) audits refused
  // calls aggregated per peer, client, rpc and reason.
  RateLimiterService(Limiter* limiter, const AuditLog* audit_log,
                     const Authenticator* authenticator,
                     LogRateLimiter* log_limiter = nullptr,
                     const CallMetrics* metrics = nullptr,
                     StreamQuota* quota = nullptr,
                     InflightLimit* inflight = nullptr,
                     DecisionPool* pool = nullptr,
                     RefusalAggregator* refusals = nullptr)
      : limiter_(limiter),
        audit_log_(audit_log),
        authenticator_(authenticator),
        log_limiter_(log_limiter),
        metrics_(metrics != nullptr ? metrics : &no_metrics_),
        quota_(quota != nullptr ? quota : &no_quota_),
        inflight_(inflight != nullptr ? inflight : &no_inflight_),
        pool_(pool),
        refusals_(refusals) {
    RegisterRawWatchCeilings();
  }

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

 private:
  // Admits the call (or answers RESOURCE_EXHAUSTED at once) and answers it
  // with decide()'s status, inline or on the pool; keeps the call's metrics.
  template <typename Decide>
  grpc::ServerUnaryReactor* Serve(grpc::CallbackServerContext* context,
                                  const char* method, Decide decide);
  // Serve() for a raw body: parses it as RequestProto (an unparsable one is
  // refused by RefuseUnparsable), runs handle(request, &response) and
  // serializes the response into `out` when OK.
  template <typename RequestProto, typename ResponseProto, typename HandleFn>
  grpc::ServerUnaryReactor* ServeRaw(grpc::CallbackServerContext* context,
                                     const char* method,
                                     const grpc::ByteBuffer* body,
                                     grpc::ByteBuffer* out, HandleFn handle);
  // Replaces the generated WatchCeilings handler by one that takes the
  // request raw, still a server-streaming method on the synchronous API (no
  // thread is taken before the request has arrived).
  void RegisterRawWatchCeilings();
  grpc::Status ServeWatchCeilings(grpc::ServerContext* context,
                                  const grpc::ByteBuffer* body,
                                  grpc::ServerWriter<v1::CeilingEvent>* writer);
  // Authorizes, decides and fills `response` (the call is admitted).
  template <typename RequestProto, typename ResponseProto>
  grpc::Status Handle(Operation op, const grpc::ServerContextBase& context,
                      const RequestProto& request, ResponseProto* response);
  grpc::Status HandleBatch(const grpc::ServerContextBase& context,
                           const v1::BatchRequest& request,
                           v1::BatchResponse* response);

  // A permit under --max_inflight_calls; when overloaded an empty one, and
  // *refused is the RESOURCE_EXHAUSTED to answer (logged, rate-limited).
  InflightLimit::Permit Admit(const char* method, grpc::Status* refused);
  // Counts, logs (rate-limited) and audits the refusal of `op` on
  // `refused` with `status`; nothing is counted. Shared by the unary calls
  // and each item of a Batch.
  void Refuse(Operation op, const absl::Status& status, AuthFailure failure,
              const grpc::ServerContextBase& context, const Request& refused);
  // Records the metrics and log lines of one operation the limiter ran:
  // its decisions, ceiling hits and storage errors.
  void Observe(Operation op, const std::string& client_id,
               const absl::StatusOr<Response>& result);

  Limiter* const limiter_;
  const AuditLog* const audit_log_;
  const Authenticator* const authenticator_;
  LogRateLimiter* const log_limiter_;
  const CallMetrics no_metrics_{nullptr};
  const CallMetrics* const metrics_;
  StreamQuota no_quota_{0};
  StreamQuota* const quota_;
  InflightLimit no_inflight_{0};
  InflightLimit* const inflight_;
  DecisionPool* const pool_;
  RefusalAggregator* const refusals_;
};

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_GRPC_RATE_LIMITER_SERVICE_H_
