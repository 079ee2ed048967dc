#ifndef GATEHOUSE_CLIENT_CLIENT_H_
#define GATEHOUSE_CLIENT_CLIENT_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "client/circuit_breaker.h"
#include "gatehouse/v1/admin.grpc.pb.h"
#include "gatehouse/v1/ratelimit.grpc.pb.h"
#include "grpcpp/channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/status.h"
#include "service/clock/clock.h"

namespace gatehouse {

class Coalescer;

// What a Client answers when it has no answer from the service.
enum class FailureMode {
  kFailOpen,    // allowed = true: an outage of Gatehouse lets traffic through.
  kFailClosed,  // allowed = false: an outage of Gatehouse blocks traffic.
};

// What a Client answers for a request refused for its values
// (INVALID_ARGUMENT: by its own checks before sending, or by the service).
// Those values are often an end user's (a login name, an e-mail address, a
// forwarded IP), so such a request must not open the gate by default.
enum class InvalidRequestMode {
  kDeny,         // allowed = false, whatever the FailureMode (the default).
  kFailureMode,  // allowed = the FailureMode's answer.
};

struct ClientOptions {
  // gRPC target, e.g. "127.0.0.1:50051" or "dns:///gatehouse.internal:50051".
  std::string target = "127.0.0.1:50051";
  // When non-empty, sent on every call as "authorization: Bearer <token>".
  // Must be printable ASCII (a gRPC header value).
  std::string token;
  // Default deadline of each call, positive. A Check sits on the caller's
  // request path, so keep it short.
  absl::Duration deadline = absl::Milliseconds(200);
  FailureMode failure_mode = FailureMode::kFailOpen;
  // A request refused for its values; see InvalidRequestMode.
  InvalidRequestMode invalid_request_mode = InvalidRequestMode::kDeny;
  // Transport security; insecure (plaintext) when null. Note that the token
  // then travels in clear text.
  std::shared_ptr<grpc::ChannelCredentials> channel_credentials;

  // Backing off from a service that does not answer (see the Client class
  // comment). After this many consecutive degraded calls, >= 1, calls fail
  // fast for a cool-down instead of each waiting for its deadline.
  int failures_before_cooldown = 5;
  // The first cool-down, positive; each failed probe doubles it, up to
  // cooldown_max (>= cooldown_initial). cooldown_max bounds how long the
  // client keeps failing fast after the service is back.
  absl::Duration cooldown_initial = absl::Milliseconds(500);
  absl::Duration cooldown_max = absl::Seconds(5);
  // How many times Peek is re-sent after UNAVAILABLE, >= 0, within the same
  // deadline. Only Peek: it counts nothing, so sending it twice is harmless
  // (at worst a denied Peek leaves a second audit event).
  int peek_retries = 1;
  // Upper bound of gRPC's reconnect backoff, at least 1 ms (gRPC's default
  // is 120 s): how soon a restarted service is reached again.
  absl::Duration max_reconnect_backoff = absl::Seconds(1);
  // Time source of the cool-downs; the real clock when null. For tests;
  // must outlive the Client.
  const Clock* clock = nullptr;

  // Coalescing (off when zero): calls from many threads are queued and sent
  // together as one RateLimiter/Batch RPC once the oldest has waited this
  // long or max_batch are queued. Each call still gets exactly its own
  // Result, within its own deadline. Worth it with many concurrent callers
  // (e.g. 200us for 64 threads); a lone caller just waits the linger.
  // Needs a server with Batch. Non-negative.
  absl::Duration coalesce_linger = absl::ZeroDuration();
  // Most calls in one Batch, 1..256.
  size_t max_batch = 64;
};

// A thin, blocking client of the gatehouse.v1.RateLimiter service that
// turns every outcome into an allow/deny answer the caller can act on,
// applying the configured FailureMode when the service gives none; and of
// the operator's gatehouse.v1.Admin service (see Block below), whose calls
// answer a status instead.
//
// Thread-safe: one Client should be shared by all threads of a process. It
// owns one gRPC channel, created by Create() and reused by every call
// (connections are made lazily and re-made by gRPC after failures, with a
// reconnect backoff of at most options.max_reconnect_backoff). Calls do not
// wait for a connection that is failing (gRPC's wait_for_ready is off): they
// fail at once with UNAVAILABLE; only the probe after a cool-down (below)
// waits for a connection, up to its deadline. Apart from its circuit breaker
// (internally synchronised), the Client is immutable after construction;
// destroying it while calls are in flight is not allowed.
//
// Outcomes of a call (see Result):
//  - The service answered: status OK, degraded false, allowed and verdicts
//    are the service's (over a limit is a DENY verdict, not an error).
//  - The request was refused, by the Client's own checks before sending
//    (the server's limits: UTF-8, sizes, counts; see request_check.h) or by
//    the service: refused true, degraded false, no verdicts, status says
//    why, and the circuit breaker does not count it (the service is fine;
//    an end user's odd input must not make the client stop asking):
//    INVALID_ARGUMENT (the request's values) answers by
//    options.invalid_request_mode (deny by default: a value an attacker
//    chose must never open the gate); NOT_FOUND (no such policy),
//    UNAUTHENTICATED and PERMISSION_DENIED (token, scopes), which are the
//    caller's own configuration, answer by the FailureMode. Invalid
//    ClientOptions (INVALID_ARGUMENT, nothing sent) answer by the
//    FailureMode too. Callers should alert on refusals other than
//    INVALID_ARGUMENT: retrying will not fix them.
//  - Anything else (UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED,
//    INTERNAL, ...): the service did not answer. allowed is the
//    FailureMode's answer, degraded true, no verdicts, and status says why.
//  - Failing fast: after options.failures_before_cooldown consecutive
//    degraded calls the client stops sending for a cool-down (growing
//    exponentially, with jitter, up to options.cooldown_max) and answers at
//    once: degraded true, fail_fast true, attempts 0, status UNAVAILABLE
//    "gatehouse client cooling down after N consecutive failures; ...".
//    After the cool-down one call goes through as a probe (the others still
//    fail fast); when the service answers it, the client is back to normal.
//
// Retries: Peek is re-sent up to options.peek_retries times after
// UNAVAILABLE, within the caller's deadline. Check, Record and Reset are
// never re-sent: they count hits or clear counters, and an UNAVAILABLE
// reply does not prove the service did nothing (the connection may have
// dropped after it committed), so a retry could count a hit twice.
class Client {
 public:
  struct Result {
    // Whether to let the attempt through: the service's answer when status
    // is OK, otherwise the configured FailureMode's.
    bool allowed = false;
    // One per subject, in request order; empty unless status is OK.
    std::vector<v1::Verdict> verdicts;
    // OK when the service answered.
    grpc::Status status;
    // True when the service did not answer (transport failure, deadline,
    // service-side failure, failing fast); false on OK and on refusals.
    bool degraded = false;
    // True when the request itself was refused (see the class comment):
    // by the Client's checks (attempts 0) or by the service; allowed was
    // then not decided by the service.
    bool refused = false;
    // True when no RPC was sent because the client is cooling down.
    bool fail_fast = false;
    // RPCs sent for this call: 0 when failing fast or with invalid options,
    // more than 1 only for a retried Peek.
    int attempts = 0;
  };

  // Counters since Create(), for the caller's metrics.
  struct Stats {
    uint64_t failed_fast = 0;   // Calls answered without an RPC.
    uint64_t cooldowns = 0;     // Cool-downs started.
    uint64_t retries = 0;       // RPCs re-sent after UNAVAILABLE (Peek only).
    bool cooling_down = false;  // Whether calls currently fail fast.
  };

  // Builds a client of options.target. Never returns null and does not
  // connect: an unreachable target shows up as degraded Results. When
  // ValidateOptions(options) fails, every call returns its INVALID_ARGUMENT
  // as a caller error and sends nothing; check it at start-up.
  static std::unique_ptr<Client> Create(ClientOptions options);

  // OK, or INVALID_ARGUMENT naming the field: empty target, non-positive
  // deadline, a token that cannot be sent in a gRPC header (gRPC would
  // abort the process on such a header), or a back-off or retry setting out
  // of the range documented in ClientOptions.
  static absl::Status ValidateOptions(const ClientOptions& options);

  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
  ~Client();

  // Each call is one blocking RPC (Peek: possibly retried) with the given
  // deadline (default: options.deadline; a non-positive one fails with
  // DEADLINE_EXCEEDED at once, sends nothing and is not counted as a
  // failure of the service), or one item of a Batch RPC when coalescing.
  // They never fail: every error is folded into the Result as described in
  // the class comment.

  // Evaluates the subjects and counts their hits only when all allow.
  Result Check(const v1::CheckRequest& request,
               std::optional<absl::Duration> deadline = std::nullopt) const;
  // The answer Check would give, without counting anything.
  Result Peek(const v1::PeekRequest& request,
              std::optional<absl::Duration> deadline = std::nullopt) const;
  // Counts hits that already happened; verdicts say whether the next
  // attempt would be allowed.
  Result Record(const v1::RecordRequest& request,
                std::optional<absl::Duration> deadline = std::nullopt) const;
  // Clears the subjects' counters and lockouts.
  Result Reset(const v1::ResetRequest& request,
               std::optional<absl::Duration> deadline = std::nullopt) const;

  // Operator calls of the gatehouse.v1.Admin service (admin.proto; the
  // token needs the `admin` scope). Each is one blocking RPC on the same
  // channel and through the same circuit breaker as the calls above, with
  // the given deadline (default: options.deadline), never re-sent: Block
  // and Unblock change state, and every Admin call writes an audit event.
  // No FailureMode applies: the caller gets the status.
  //
  // Before sending, the subject's values are checked as for Check
  // (request_check.h; errors name `subject...`) and the reason as
  // CheckReason says (required for Block and Unblock). Returns OK with
  // *response filled in, or: INVALID_ARGUMENT (invalid ClientOptions or
  // values, nothing sent; or the service's, naming the field), NOT_FOUND
  // (no such policy), UNAUTHENTICATED, PERMISSION_DENIED (no admin scope),
  // UNAVAILABLE (also when failing fast), DEADLINE_EXCEEDED (also for a
  // non-positive deadline, nothing sent). *response is unspecified unless
  // OK. REQUIRES: response is not null.

  // Locks the subject out for request.duration, or until unblocked.
  grpc::Status Block(
      const v1::BlockRequest& request, v1::BlockResponse* response,
      std::optional<absl::Duration> deadline = std::nullopt) const;
  // Lifts the subject's lockout and clears its counters and offences.
  grpc::Status Unblock(
      const v1::UnblockRequest& request, v1::UnblockResponse* response,
      std::optional<absl::Duration> deadline = std::nullopt) const;
  // One page of the subjects locked out now, newest first.
  grpc::Status ListLockouts(
      const v1::ListLockoutsRequest& request,
      v1::ListLockoutsResponse* response,
      std::optional<absl::Duration> deadline = std::nullopt) const;
  // The subject's counter, buckets, lockout and offences.
  grpc::Status Inspect(
      const v1::InspectRequest& request, v1::InspectResponse* response,
      std::optional<absl::Duration> deadline = std::nullopt) const;

  // Convenience for building requests: a subject of `policy` with dimension
  // values `key`; hits 0 means 1.
  static v1::Subject MakeSubject(absl::string_view policy,
                                 std::map<std::string, std::string> key,
                                 uint64_t hits = 0);

  // Thread-safe; a consistent snapshot of the breaker's counters.
  Stats GetStats() const;

 private:
  Client(ClientOptions options, grpc::Status options_status);

  // Sends one RPC through the circuit breaker: `rpc(context)` performs it
  // on a context carrying the deadline and token. Re-sent after UNAVAILABLE
  // up to `retries` times while the deadline allows and the breaker admits.
  // Returns the last status, or the breaker's UNAVAILABLE with *fail_fast
  // set when nothing was sent; *attempts counts the RPCs sent. Every RPC of
  // the Client goes through here.
  template <typename Rpc>
  grpc::Status Send(absl::Time deadline, int retries, Rpc rpc, int* attempts,
                    bool* fail_fast) const;
  // One call: refused at once when `values` (CheckRequestValues) is not
  // OK, otherwise sent through Send().
  template <typename Response, typename Rpc>
  Result Call(std::optional<absl::Duration> deadline, int retries,
              const absl::Status& values, Rpc rpc) const;
  Result Failed(grpc::Status status) const;
  // One Admin call: refused at once when `values` is not OK, otherwise
  // sent once through Send(); `rpc(context)` performs it.
  template <typename Rpc>
  grpc::Status AdminCall(std::optional<absl::Duration> deadline,
                         const absl::Status& values, Rpc rpc) const;

  // Constant after construction.
  const ClientOptions options_;
  // Not OK when the options are invalid; channel_ and stub_ are then null.
  const grpc::Status options_status_;
  const std::shared_ptr<grpc::Channel> channel_;
  // Thread-safe: gRPC stubs may be shared across threads.
  const std::unique_ptr<v1::RateLimiter::Stub> stub_;
  const std::unique_ptr<v1::Admin::Stub> admin_stub_;
  // Internally synchronised; null when the options are invalid.
  const std::unique_ptr<CircuitBreaker> breaker_;

  // Atomic.
  mutable std::atomic<uint64_t> retries_{0};
  // Set when coalescing; thread-safe. Declared last: stops before stub_.
  const std::unique_ptr<Coalescer> coalescer_;
};

}  // namespace gatehouse

#endif  // GATEHOUSE_CLIENT_CLIENT_H_
