#include "tests/integration/health_probe.h"

#include <chrono>
#include <vector>

namespace gatehouse::testing {

// The ServingStatus in an encoded HealthCheckResponse (field 1, varint; an
// omitted field is UNKNOWN = 0), or -1 if it is not one.
int DecodeServingStatus(grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  if (!buffer.Dump(&slices).ok()) return -1;
  std::string bytes;
  for (const grpc::Slice& s : slices) {
    bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  if (bytes.empty()) return 0;
  if (bytes.size() == 2 && bytes[0] == '\x08') return bytes[1];
  return -1;
}

// grpc.health.v1.Health/Check on a fresh channel: the ServingStatus, or -1
// with `*status` saying why there is none.
int HealthCheck(const std::string& address, grpc::Status* status) {
  grpc::GenericStub stub(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(2));
  grpc::CompletionQueue cq;
  grpc::Slice empty("");
  grpc::ByteBuffer request(&empty, 1), response;
  auto call = stub.PrepareUnaryCall(&context, "/grpc.health.v1.Health/Check",
                                    request, &cq);
  call->StartCall();
  call->Finish(&response, status, &cq);
  void* tag;
  bool ok;
  cq.Next(&tag, &ok);
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
  return status->ok() ? DecodeServingStatus(response) : -1;
}

}  // namespace gatehouse::testing
