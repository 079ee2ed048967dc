#ifndef GATEHOUSE_SERVICE_GRPC_CONNECTION_LIMIT_H_
#define GATEHOUSE_SERVICE_GRPC_CONNECTION_LIMIT_H_

#include <grpcpp/impl/server_builder_option.h>
#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace gatehouse {

// Bounds the client connections the gRPC server holds at once. gRPC 1.51
// has no such limit, and each connection may hold --max_concurrent_streams
// streams before any call is authenticated, so the connection count is what
// bounds the memory a peer can pin.
//
// Connections are seen as gRPC accepts them (a socket mutator); one beyond
// the bound is shut down at once, before gRPC reads from it, and its client
// sees the connection close (UNAVAILABLE, retried). A connection counts until
// its socket is closed, which is noticed at the next accept.
//
// Thread-safe; must outlive the server built with BuilderOption().
class ConnectionLimit {
 public:
  // 0 means no bound.
  explicit ConnectionLimit(int max) : max_(max) {}
  ConnectionLimit(const ConnectionLimit&) = delete;
  ConnectionLimit& operator=(const ConnectionLimit&) = delete;

  // Whether the connected socket `fd` may be served: true (and counted)
  // while fewer than the bound are open, false otherwise.
  bool Admit(int fd);

  // Connections admitted and still open (0 without a bound), and those
  // refused so far.
  int open();
  uint64_t refused();

  // Installs the limit on the sockets of the server being built.
  std::unique_ptr<grpc::ServerBuilderOption> BuilderOption();

 private:
  // Forgets admitted sockets that were closed since.
  void PruneLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const int max_;
  absl::Mutex mu_;
  // Admitted sockets: descriptor -> inode, which tells a socket that is
  // still open from a later one that reuses its descriptor.
  std::map<int, ino_t> open_ ABSL_GUARDED_BY(mu_);
  uint64_t refused_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_GRPC_CONNECTION_LIMIT_H_
