#ifndef GATEHOUSE_SERVICE_GRPC_CALL_PIPELINE_H_
#define GATEHOUSE_SERVICE_GRPC_CALL_PIPELINE_H_

#include <grpcpp/server_context.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/server_callback.h>
#include <grpcpp/support/status.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "service/audit/refusal_aggregator.h"
#include "service/auth/authenticator.h"
#include "service/core/limiter.h"
#include "service/grpc/call_messages.h"
#include "service/grpc/call_metrics.h"
#include "service/grpc/decision_pool.h"
#include "service/grpc/inflight_limit.h"
#include "service/grpc/request_parser.h"
#include "service/logging/log_rate_limiter.h"

namespace gatehouse {

// What a CallPipeline works with. Everything pointed to must outlive the
// pipeline; only the limiter is required.
struct CallPipelineOptions {
  Limiter* limiter = nullptr;
  // Null disables authentication (--allow_unauthenticated on loopback, and
  // tests): every caller is anonymous with every scope and policy.
  const Authenticator* authenticator = nullptr;
  // Paces the log lines of ceiling hits, refusals, storage errors and shed
  // calls. Null: log every one.
  LogRateLimiter* log_limiter = nullptr;
  // Null: record nothing.
  const CallMetrics* metrics = nullptr;
  // Bounds the calls worked on (or queued for `pool`) at once; more are
  // refused RESOURCE_EXHAUSTED on arrival (--max_inflight_calls). Null: no
  // bound.
  InflightLimit* inflight = nullptr;
  // Runs the decisions (--decision_threads). Null: decide inline on the
  // gRPC thread that read the call.
  DecisionPool* pool = nullptr;
  // Audits refused calls aggregated per peer, client, rpc and reason. Null:
  // each refused call is audited as an event of its own.
  RefusalAggregator* refusals = nullptr;
};

// The one path of every unary call (and BatchStream message) that decides
// through the Limiter, on gRPC's callback API with the request body taken
// raw:
//
//   Serve: admission (shed before any work) -> parse (INVALID_ARGUMENT
//     naming the field) -> the method's handler, inline or on the pool ->
//     serialize; the call's code and latency recorded.
//   The handler: Authorize (authentication, then scope and policies; a
//     refusal is counted, logged and audited, nothing counted) -> Decide
//     (the Limiter; verdicts, ceiling hits and storage errors recorded and
//     logged) -> convert back.
//
// A method is then a few lines: see rate_limiter_service.cc. Thread-safe.
class CallPipeline {
 public:
  explicit CallPipeline(const CallPipelineOptions& options);
  CallPipeline(const CallPipeline&) = delete;
  CallPipeline& operator=(const CallPipeline&) = delete;

  // Work that returns the call's status (Run).
  using Answerer = absl::AnyInvocable<grpc::Status()>;
  // Gets the status of a unit of work once it is counted.
  using Answered = absl::AnyInvocable<void(const grpc::Status&)>;
  // Work that answers later (RunAsync), by calling its Finisher once.
  using Finisher = absl::AnyInvocable<void(const grpc::Status&) &&>;
  using AsyncAnswerer = absl::AnyInvocable<void(Finisher) &&>;

  // Serves one unary call of `method` whose body is a RequestProto: admits
  // it, then answers it as Answer() does.
  template <typename RequestProto, typename ResponseProto, typename Handler>
  grpc::ServerUnaryReactor* Serve(grpc::CallbackServerContext* context,
                                  const char* method,
                                  const grpc::ByteBuffer* body,
                                  grpc::ByteBuffer* out, Handler handle) const {
    // Parsed once admitted: a flood is shed before any work.
    return Admitted(context, method, [=] {
      return Answer<RequestProto, ResponseProto>(*context, method, *body, out,
                                                 handle);
    });
  }

  // Serve() for a handler that answers later:
  // `handle(const RequestProto&, ResponseProto*, Finisher)` calls the
  // Finisher once, from any thread, with the call's status; the response is
  // then serialized into `out` when OK. Both messages live until then.
  // Without a --decision_threads pool the call is answered through
  // RunAsync, by whichever thread finishes it; with one, a pool thread runs
  // the handler and waits for it (Run).
  template <typename RequestProto, typename ResponseProto, typename Handler>
  grpc::ServerUnaryReactor* ServeAsync(grpc::CallbackServerContext* context,
                                       const char* method,
                                       const grpc::ByteBuffer* body,
                                       grpc::ByteBuffer* out,
                                       Handler handle) const {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    Dispatch(
        method,
        AnswerAsync<RequestProto, ResponseProto>(*context, method, body, out,
                                                 std::move(handle)),
        [reactor](const grpc::Status& status) { reactor->Finish(status); });
    return reactor;
  }

  // The work of answering `body` with a handler that answers later (as for
  // ServeAsync), for Dispatch: parses it (INVALID_ARGUMENT naming the
  // field), runs `handle`, and once it finished serializes the response
  // into `out` when OK. `context`, `body` and `out` must outlive it.
  template <typename RequestProto, typename ResponseProto, typename Handler>
  AsyncAnswerer AnswerAsync(const grpc::ServerContextBase& context,
                            const char* method, const grpc::ByteBuffer* body,
                            grpc::ByteBuffer* out, Handler handle) const {
    return [this, &context, method, body, out,
            handle = std::move(handle)](Finisher finish) mutable {
      auto messages =
          std::make_unique<CallMessages<RequestProto, ResponseProto>>();
      const absl::Status parsed = ParseRequest(*body, messages->request);
      if (!parsed.ok()) {
        std::move(finish)(
            RefuseUnparsable(log_limiter_, method, parsed, context));
        return;
      }
      auto* m = messages.get();
      handle(*m->request, m->response,
             [messages = std::move(messages), out,
              finish = std::move(finish)](const grpc::Status& handled) mutable {
               grpc::Status status = handled;
               bool own_buffer;
               if (status.ok()) {
                 status = grpc::SerializationTraits<ResponseProto>::Serialize(
                     *messages->response, out, &own_buffer);
               }
               messages.reset();
               std::move(finish)(status);
             });
    };
  }

  // Parses `body` as a RequestProto (INVALID_ARGUMENT naming the field),
  // runs `handle(const RequestProto&, ResponseProto*)` (returning the
  // call's status) and serializes the response into `out` when OK.
  template <typename RequestProto, typename ResponseProto, typename Handler>
  grpc::Status Answer(const grpc::ServerContextBase& context,
                      const char* method, const grpc::ByteBuffer& body,
                      grpc::ByteBuffer* out, const Handler& handle) const {
    RequestProto request;
    const absl::Status parsed = ParseRequest(body, &request);
    if (!parsed.ok()) {
      return RefuseUnparsable(log_limiter_, method, parsed, context);
    }
    ResponseProto response;
    grpc::Status status = handle(request, &response);
    bool own_buffer;
    if (status.ok()) {
      status = grpc::SerializationTraits<ResponseProto>::Serialize(
          response, out, &own_buffer);
    }
    return status;
  }

  // One unit of work of `method` (a unary call, or one message of a
  // stream): admitted under --max_inflight_calls, else RESOURCE_EXHAUSTED at
  // once without running `decide`; otherwise `decide` runs inline or on the
  // pool. Either way the status is counted as a call of `method`, the slot
  // freed, and then `answered(status)` runs on the thread that decided.
  void Run(const char* method, Answerer decide, Answered answered) const;

  // Run() for work that answers later, from whichever thread finishes it:
  // `decide` runs inline and calls its Finisher once, with the status.
  void RunAsync(const char* method, AsyncAnswerer decide,
                Answered answered) const;
  // An Answerer that runs `decide` and waits on this thread for its status.
  static Answerer WaitFor(AsyncAnswerer decide);
  // Runs work that answers later: without a --decision_threads pool
  // through RunAsync, answered by whichever thread finishes it; with one,
  // a pool thread runs it and waits for it (Run, WaitFor).
  void Dispatch(const char* method, AsyncAnswerer decide,
                Answered answered) const;

  // The caller of `context`, permitted `op` on the policies of `request`.
  // A refusal (UNAUTHENTICATED, PERMISSION_DENIED) is counted, logged and
  // audited as a refusal of `op` on `request`, and returned.
  absl::StatusOr<Caller> Authorize(const grpc::ServerContextBase& context,
                                   Operation op, const Request& request) const;
  // The first half of Authorize, for a call that carries several
  // operations (Batch): who calls. A refusal is audited once, as one of
  // `op` on `first` (the call's first operation).
  absl::StatusOr<Caller> Authenticate(const grpc::ServerContextBase& context,
                                      Operation op, const Request& first) const;
  // The second half: `caller` may run `op` on the policies of `request`.
  absl::Status Permit(const grpc::ServerContextBase& context,
                      const Caller& caller, Operation op,
                      const Request& request) const;

  // Authorize for a call that needs `scope` (the Admin service's kAdmin)
  // on the policies of `request`, whatever its operation; a refusal is
  // audited as one of `op` on `request` (whose rpc names the call).
  absl::StatusOr<Caller> AuthorizeScope(const grpc::ServerContextBase& context,
                                        Scope scope, Operation op,
                                        const Request& request) const;

  // Runs `op` through the Limiter (request.client_id set) and records what
  // it did: verdicts, ceiling hits (logged), storage errors.
  absl::StatusOr<Response> Decide(Operation op, const Request& request) const;
  // Decide() that answers `done` once decided and written (Limiter::
  // RunAsync); `request` must outlive `done`.
  void DecideAsync(Operation op, const Request& request,
                   Limiter::RunDone done) const;
  // DecideBatch() that answers `done` (Limiter::RunBatchAsync); the items'
  // requests must outlive `done`.
  void DecideBatchAsync(absl::Span<const BatchItem> items,
                        const std::string& client_id,
                        Limiter::BatchDone done) const;
  // Runs independent operations together (Limiter::RunBatch), each
  // recorded as Decide does and counted as a Batch item.
  std::vector<absl::StatusOr<Response>> DecideBatch(
      const std::vector<BatchItem>& items, const std::string& client_id) const;

  // Whether decisions run on the gRPC thread that read the call (no
  // --decision_threads pool): unary calls are then answered through
  // RunAsync/DecideAsync, by whichever thread writes their commit.
  bool decides_inline() const { return pool_ == nullptr; }
  const CallMetrics& metrics() const { return *metrics_; }
  Limiter& limiter() const { return *limiter_; }
  LogRateLimiter* log_limiter() const { return log_limiter_; }
  // The policies in force now (they may be replaced by a reload at any
  // time; the snapshot stays valid).
  std::shared_ptr<const PolicySet> policies() const {
    return limiter_->policies();
  }

 private:
  // Run() answering the call of `context` with decide()'s status.
  grpc::ServerUnaryReactor* Admitted(grpc::CallbackServerContext* context,
                                     const char* method, Answerer decide) const;
  // A permit under --max_inflight_calls; when overloaded an empty one, and
  // *refused is the RESOURCE_EXHAUSTED to answer (logged, rate-limited).
  InflightLimit::Permit Admit(const char* method, grpc::Status* refused) const;
  // Permit for `scope`, the refusal audited as one of `op`.
  absl::Status PermitScope(const grpc::ServerContextBase& context,
                           const Caller& caller, Scope scope, Operation op,
                           const Request& request) const;
  // Counts, logs (rate-limited) and audits the refusal of `op` on
  // `refused` with `status`; nothing is counted.
  void Refuse(Operation op, const absl::Status& status, AuthFailure failure,
              const grpc::ServerContextBase& context,
              const Request& refused) const;
  // Records the metrics and log lines of one operation the limiter ran.
  void Observe(Operation op, const std::string& client_id,
               const absl::StatusOr<Response>& result) const;

  const CallMetrics no_metrics_{nullptr};
  mutable InflightLimit no_inflight_{0};
  Limiter* const limiter_;
  const Authenticator* const authenticator_;
  LogRateLimiter* const log_limiter_;
  const CallMetrics* const metrics_;
  InflightLimit* const inflight_;
  DecisionPool* const pool_;
  RefusalAggregator* const refusals_;
};

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_GRPC_CALL_PIPELINE_H_
