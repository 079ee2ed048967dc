#include "tests/testing/in_process_server.h"

#include <utility>

#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"

namespace gatehouse::testing {

std::unique_ptr<InProcessServer> InProcessServer::Start(
    const std::vector<grpc::Service*>& services) {
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                           &port);
  for (grpc::Service* service : services) builder.RegisterService(service);
  auto unknown_methods = std::make_unique<grpc::CallbackGenericService>();
  builder.RegisterCallbackGenericService(unknown_methods.get());
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr) return nullptr;
  if (port == 0) {
    server->Shutdown();
    return nullptr;
  }
  return std::unique_ptr<InProcessServer>(
      new InProcessServer(std::move(unknown_methods), std::move(server), port));
}

InProcessServer::InProcessServer(
    std::unique_ptr<grpc::CallbackGenericService> unknown_methods,
    std::unique_ptr<grpc::Server> server, int port)
    : unknown_methods_(std::move(unknown_methods)),
      server_(std::move(server)),
      port_(port),
      channel_(
          grpc::CreateChannel(address(), grpc::InsecureChannelCredentials())) {}

InProcessServer::~InProcessServer() { Shutdown(); }

std::string InProcessServer::address() const {
  return "127.0.0.1:" + std::to_string(port_);
}

void InProcessServer::Shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  server_->Shutdown();
}

}  // namespace gatehouse::testing
