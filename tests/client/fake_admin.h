#ifndef GATEHOUSE_TESTS_CLIENT_FAKE_ADMIN_H_
#define GATEHOUSE_TESTS_CLIENT_FAKE_ADMIN_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "gatehouse/v1/admin.grpc.pb.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/status.h"

namespace gatehouse {

// A scripted gatehouse.v1.Admin for testing the client's and gatehousectl's
// contract, not the service: Block, Unblock and Inspect answer the
// configured responses, ListLockouts pages through a configured list as
// admin.proto says, and every call is recorded.
//
// Thread-safe.
class FakeAdmin final : public v1::Admin::Service {
 public:
  // What one RPC received.
  struct Call {
    std::string method;  // "Block", "Unblock", "ListLockouts" or "Inspect".
    // The request of `method`; the other three are empty.
    v1::BlockRequest block;
    v1::UnblockRequest unblock;
    v1::ListLockoutsRequest list;
    v1::InspectRequest inspect;
    // The "authorization" metadata, if sent.
    std::optional<std::string> authorization;
  };

  // Every RPC arriving later answers `status` when it is not OK (instead
  // of a response). Initially OK.
  void SetStatus(grpc::Status status);
  void SetBlockResponse(v1::BlockResponse response);
  void SetUnblockResponse(v1::UnblockResponse response);
  void SetInspectResponse(v1::InspectResponse response);
  // What ListLockouts pages through, in this order: page_size 0 means 100
  // and more than 1000 is INVALID_ARGUMENT; a page's next_page_token is
  // "at:<index of the next lockout>", empty after the last one; an unknown
  // token is INVALID_ARGUMENT. The policy filter is not applied. Initially
  // none.
  void SetLockouts(std::vector<v1::Lockout> lockouts);

  std::vector<Call> calls() const;

  grpc::Status Block(grpc::ServerContext* context,
                     const v1::BlockRequest* request,
                     v1::BlockResponse* response) override;
  grpc::Status Unblock(grpc::ServerContext* context,
                       const v1::UnblockRequest* request,
                       v1::UnblockResponse* response) override;
  grpc::Status ListLockouts(grpc::ServerContext* context,
                            const v1::ListLockoutsRequest* request,
                            v1::ListLockoutsResponse* response) override;
  grpc::Status Inspect(grpc::ServerContext* context,
                       const v1::InspectRequest* request,
                       v1::InspectResponse* response) override;

 private:
  // Records `call` with the context's authorization; returns the status
  // to answer.
  grpc::Status Record(grpc::ServerContext& context, Call call)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  grpc::Status status_ ABSL_GUARDED_BY(mu_);
  v1::BlockResponse block_ ABSL_GUARDED_BY(mu_);
  v1::UnblockResponse unblock_ ABSL_GUARDED_BY(mu_);
  v1::InspectResponse inspect_ ABSL_GUARDED_BY(mu_);
  std::vector<v1::Lockout> lockouts_ ABSL_GUARDED_BY(mu_);
  std::vector<Call> calls_ ABSL_GUARDED_BY(mu_);
};

}  // namespace gatehouse

#endif  // GATEHOUSE_TESTS_CLIENT_FAKE_ADMIN_H_
