// gRPC server reflection: served without a token (gRPC's reflection service
// is outside the call pipeline), hence only where --reflection allows it.

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <string>
#include <vector>

#include "tests/integration/fixture.h"

namespace gatehouse::testing {
namespace {

// grpc.reflection.v1alpha ServerReflectionInfo with one list_services
// request, encoded by hand (Debian ships no reflection stub): the first
// response's bytes, or the call's status when there is none.
grpc::Status ListServices(const std::string& address, std::string* response) {
  grpc::GenericStub stub(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(5));
  grpc::CompletionQueue cq;
  auto call = stub.PrepareCall(
      &context,
      "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", &cq);
  void* tag;
  bool ok = false;
  auto await = [&] { return cq.Next(&tag, &ok) && ok; };
  call->StartCall(nullptr);
  bool open = await();
  // ServerReflectionRequest{list_services: ""}: field 7, length-delimited.
  grpc::Slice request_bytes(std::string("\x3a\x00", 2));
  grpc::ByteBuffer request(&request_bytes, 1), reply;
  if (open) {
    call->WriteLast(request, grpc::WriteOptions(), nullptr);
    open = await();
  }
  if (open) {
    call->Read(&reply, nullptr);
    if (await()) {
      std::vector<grpc::Slice> slices;
      if (reply.Dump(&slices).ok()) {
        for (const grpc::Slice& s : slices) {
          response->append(reinterpret_cast<const char*>(s.begin()), s.size());
        }
      }
    }
  }
  grpc::Status status;
  call->Finish(&status, nullptr);
  await();
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
  return status;
}

using ReflectionTest = ServerTest;

TEST_F(ReflectionTest, LoopbackListenServesReflectionByDefault) {
  std::string services;
  const grpc::Status status = ListServices(server_->address(), &services);
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_NE(services.find("gatehouse.v1.RateLimiter"), std::string::npos);
  EXPECT_NE(services.find("gatehouse.v1.Audit"), std::string::npos);
  EXPECT_NE(services.find("envoy.service.ratelimit.v3.RateLimitService"),
            std::string::npos);
}

TEST_F(ReflectionTest, ReflectionOffIsNotServed) {
  ServerProcess server(
      {"--data_dir=" + dir_.path() + "/off", "--policies=" + policies_,
       "--credentials=" + credentials_,
       "--pseudonym_key_file=" + pseudonym_key_, "--reflection=off"});
  ASSERT_TRUE(server.Start()) << server.stderr_text();
  std::string services;
  const grpc::Status status = ListServices(server.address(), &services);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_EQ(services, "");
}

TEST_F(ReflectionTest, UnknownReflectionModeIsRefusedAtStartUp) {
  const CommandResult r = RunCommand(
      {GATEHOUSE_BIN, "--listen=127.0.0.1:0",
       "--metrics_listen=", "--data_dir=" + dir_.path() + "/bad",
       "--policies=" + policies_, "--credentials=" + credentials_,
       "--pseudonym_key_file=" + pseudonym_key_, "--reflection=maybe"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("--reflection"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace gatehouse::testing
