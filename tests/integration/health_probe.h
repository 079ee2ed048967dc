#ifndef GATEHOUSE_TESTS_INTEGRATION_HEALTH_PROBE_H_
#define GATEHOUSE_TESTS_INTEGRATION_HEALTH_PROBE_H_

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

namespace gatehouse::testing {

// grpc.health.v1 without a generated stub (Debian ships none): requests
// and responses are encoded by hand. HealthCheckRequest{service: ""} is
// empty bytes; a HealthCheckResponse is field 1, a varint ServingStatus.

// grpc.health.v1.HealthCheckResponse.ServingStatus
inline constexpr int kServing = 1;
inline constexpr int kNotServing = 2;

// The ServingStatus in an encoded HealthCheckResponse (an omitted field is
// UNKNOWN = 0), or -1 if it is not one.
int DecodeServingStatus(grpc::ByteBuffer& buffer);

// grpc.health.v1.Health/Check on a fresh channel: the ServingStatus, or -1
// with `*status` saying why there is none.
int HealthCheck(const std::string& address, grpc::Status* status);

// grpc.health.v1.Health/Watch on a channel of its own, read one update at a
// time. There is no generated health stub here; the request
// (HealthCheckRequest{service: ""}) encodes as empty bytes.
class HealthWatch {
 public:
  explicit HealthWatch(const std::string& address)
      : stub_(
            grpc::CreateChannel(address, grpc::InsecureChannelCredentials())) {
    context_.set_deadline(std::chrono::system_clock::now() +
                          std::chrono::seconds(20));
    call_ = stub_.PrepareCall(&context_, "/grpc.health.v1.Health/Watch", &cq_);
    call_->StartCall(this);
    open_ = Await();
    grpc::Slice empty("");
    grpc::ByteBuffer request(&empty, 1);
    if (open_) {
      call_->Write(request, this);
      open_ = Await();
    }
    if (open_) {
      call_->WritesDone(this);
      open_ = Await();
    }
  }

  ~HealthWatch() {
    context_.TryCancel();
    grpc::Status status;
    call_->Finish(&status, this);
    Await();
    cq_.Shutdown();
    void* tag;
    bool ok;
    while (cq_.Next(&tag, &ok)) {
    }
  }

  HealthWatch(const HealthWatch&) = delete;
  HealthWatch& operator=(const HealthWatch&) = delete;

  // The next status the server sends, or -1 once the stream has ended.
  int Next() {
    if (!open_) return -1;
    grpc::ByteBuffer response;
    call_->Read(&response, this);
    open_ = Await();
    return open_ ? DecodeServingStatus(response) : -1;
  }

 private:
  // Waits for the one operation in flight; whether it succeeded.
  bool Await() {
    void* tag;
    bool ok = false;
    return cq_.Next(&tag, &ok) && ok;
  }

  grpc::GenericStub stub_;
  grpc::ClientContext context_;
  grpc::CompletionQueue cq_;
  std::unique_ptr<grpc::GenericClientAsyncReaderWriter> call_;
  bool open_ = false;
};

}  // namespace gatehouse::testing

#endif  // GATEHOUSE_TESTS_INTEGRATION_HEALTH_PROBE_H_
