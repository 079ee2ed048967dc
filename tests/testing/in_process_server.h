#ifndef GATEHOUSE_TESTS_TESTING_IN_PROCESS_SERVER_H_
#define GATEHOUSE_TESTS_TESTING_IN_PROCESS_SERVER_H_

#include <grpcpp/generic/async_generic_service.h>

#include <memory>
#include <string>
#include <vector>

#include "grpcpp/channel.h"
#include "grpcpp/impl/codegen/service_type.h"
#include "grpcpp/server.h"

namespace gatehouse::testing {

// gRPC services served in this process on 127.0.0.1, port 0 (the kernel
// picks a free one), with an insecure channel to them: what every service
// and client test needs to talk to real handlers over a real connection.
//
// Not thread-safe to shut down concurrently; channel() may be used from any
// thread. The services are not owned and must outlive the server.
class InProcessServer {
 public:
  // Starts serving `services`; null when the server does not start.
  static std::unique_ptr<InProcessServer> Start(
      const std::vector<grpc::Service*>& services);

  ~InProcessServer();  // Shutdown()
  InProcessServer(const InProcessServer&) = delete;
  InProcessServer& operator=(const InProcessServer&) = delete;

  int port() const { return port_; }
  // "127.0.0.1:<port>".
  std::string address() const;
  // A channel to address(), made at start.
  const std::shared_ptr<grpc::Channel>& channel() const { return channel_; }
  grpc::Server& server() { return *server_; }

  // Stops accepting calls and cancels those in progress; idempotent.
  void Shutdown();

 private:
  InProcessServer(std::unique_ptr<grpc::CallbackGenericService> unknown_methods,
                  std::unique_ptr<grpc::Server> server, int port);

  // Required by the services' raw streaming methods (request_parser.h);
  // answers unknown methods UNIMPLEMENTED. Outlives server_.
  std::unique_ptr<grpc::CallbackGenericService> unknown_methods_;
  std::unique_ptr<grpc::Server> server_;
  const int port_;
  std::shared_ptr<grpc::Channel> channel_;
  bool shut_down_ = false;
};

}  // namespace gatehouse::testing

#endif  // GATEHOUSE_TESTS_TESTING_IN_PROCESS_SERVER_H_
