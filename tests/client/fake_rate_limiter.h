#ifndef GATEHOUSE_TESTS_CLIENT_FAKE_RATE_LIMITER_H_
#define GATEHOUSE_TESTS_CLIENT_FAKE_RATE_LIMITER_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "gatehouse/v1/ratelimit.grpc.pb.h"
#include "grpcpp/server.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/status.h"
#include "tests/client/fake_admin.h"
#include "tests/testing/in_process_server.h"

namespace gatehouse {

// A scripted gatehouse.v1.RateLimiter for testing the client's contract,
// not the service: every RPC answers with the configured reply, and every
// call is recorded.
//
// Thread-safe.
class FakeRateLimiter final : public v1::RateLimiter::Service {
 public:
  // What one RPC received.
  struct Call {
    std::string method;  // "Check", "Peek", "Record" or "Reset".
    // All four request types have the same fields; held as a CheckRequest.
    v1::CheckRequest request;
    // The "authorization" metadata, if sent.
    std::optional<std::string> authorization;
    // The client's address as the server saw it, e.g. "ipv4:127.0.0.1:4711".
    std::string peer;
    // Time left until the call's deadline when the handler ran.
    absl::Duration time_left;
  };

  // Every RPC arriving later answers `status`, and when it is OK, `allowed`
  // and `verdicts`. Initially: OK, allowed, no verdicts.
  void SetReply(grpc::Status status, bool allowed = true,
                std::vector<v1::Verdict> verdicts = {});

  // Every RPC arriving later waits `delay` after being recorded before it
  // answers (with the reply set when it arrived): a slow service. Initially
  // none.
  void SetDelay(absl::Duration delay);

  std::vector<Call> calls() const;

  grpc::Status Check(grpc::ServerContext* context,
                     const v1::CheckRequest* request,
                     v1::CheckResponse* response) override;
  grpc::Status Peek(grpc::ServerContext* context,
                    const v1::PeekRequest* request,
                    v1::PeekResponse* response) override;
  grpc::Status Record(grpc::ServerContext* context,
                      const v1::RecordRequest* request,
                      v1::RecordResponse* response) override;
  grpc::Status Reset(grpc::ServerContext* context,
                     const v1::ResetRequest* request,
                     v1::ResetResponse* response) override;

 private:
  template <typename Request, typename Response>
  grpc::Status Handle(const char* method, grpc::ServerContext& context,
                      const Request& request, Response& response);

  mutable absl::Mutex mu_;
  grpc::Status status_ ABSL_GUARDED_BY(mu_);
  bool allowed_ ABSL_GUARDED_BY(mu_) = true;
  std::vector<v1::Verdict> verdicts_ ABSL_GUARDED_BY(mu_);
  std::vector<Call> calls_ ABSL_GUARDED_BY(mu_);
  absl::Duration delay_ ABSL_GUARDED_BY(mu_);
};

// A FakeRateLimiter and a FakeAdmin served in-process on 127.0.0.1, on a
// port the kernel picks. Shuts the server down on destruction.
class FakeServer {
 public:
  FakeServer();
  FakeServer(const FakeServer&) = delete;
  FakeServer& operator=(const FakeServer&) = delete;
  ~FakeServer();

  // False when the server could not start.
  bool ok() const { return server_ != nullptr; }
  // "127.0.0.1:<port>", for ClientOptions::target.
  std::string target() const;
  FakeRateLimiter& service() { return service_; }
  FakeAdmin& admin() { return admin_; }

 private:
  FakeRateLimiter service_;
  FakeAdmin admin_;
  std::unique_ptr<testing::InProcessServer> server_;
};

}  // namespace gatehouse

#endif  // GATEHOUSE_TESTS_CLIENT_FAKE_RATE_LIMITER_H_
