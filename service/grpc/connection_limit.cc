#include "service/grpc/connection_limit.h"

#include <grpc/support/sync.h>
#include <grpcpp/support/channel_arguments.h>
#include <sys/socket.h>
#include <sys/stat.h>

// gRPC's socket mutator, as declared by gRPC 1.51's internal
// src/core/lib/iomgr/socket_mutator.h, which Debian's libgrpc-dev does not
// install; libgrpc exports the functions (C++ linkage). The layout is that
// of the gRPC the project builds with (Debian 12's 1.51); the integration
// test of --max_connections fails if it ever differs.
typedef enum {
  GRPC_FD_CLIENT_CONNECTION_USAGE,
  GRPC_FD_SERVER_LISTENER_USAGE,
  GRPC_FD_SERVER_CONNECTION_USAGE,
} grpc_fd_usage;
typedef struct {
  int fd;
  grpc_fd_usage usage;
} grpc_mutate_socket_info;
struct grpc_socket_mutator_vtable {
  bool (*mutate_fd)(int fd, grpc_socket_mutator* mutator);
  int (*compare)(grpc_socket_mutator* a, grpc_socket_mutator* b);
  void (*destroy)(grpc_socket_mutator* mutator);
  bool (*mutate_fd_2)(const grpc_mutate_socket_info* info,
                      grpc_socket_mutator* mutator);
};
struct grpc_socket_mutator {
  const grpc_socket_mutator_vtable* vtable;
  gpr_refcount refcount;
};
void grpc_socket_mutator_init(grpc_socket_mutator* mutator,
                              const grpc_socket_mutator_vtable* vtable);

namespace gatehouse {
namespace {

// A grpc_socket_mutator that admits accepted connections through a limit.
struct LimitMutator {
  grpc_socket_mutator base;  // First: gRPC sees a pointer to it.
  ConnectionLimit* limit;
};

bool MutateFd2(const grpc_mutate_socket_info* info,
               grpc_socket_mutator* mutator) {
  if (info->usage != GRPC_FD_SERVER_CONNECTION_USAGE) return true;
  ConnectionLimit* limit = reinterpret_cast<LimitMutator*>(mutator)->limit;
  // Refusing by returning false would make gRPC 1.51 stop accepting on the
  // port altogether: shut the socket instead, so that gRPC reads its end
  // at once and drops it.
  if (!limit->Admit(info->fd)) shutdown(info->fd, SHUT_RDWR);
  return true;
}

bool MutateFd(int, grpc_socket_mutator*) { return true; }

int Compare(grpc_socket_mutator* a, grpc_socket_mutator* b) {
  return a < b ? -1 : (a > b ? 1 : 0);
}

void Destroy(grpc_socket_mutator* mutator) {
  delete reinterpret_cast<LimitMutator*>(mutator);
}

constexpr grpc_socket_mutator_vtable kVtable = {MutateFd, Compare, Destroy,
                                                MutateFd2};

class LimitOption final : public grpc::ServerBuilderOption {
 public:
  explicit LimitOption(ConnectionLimit* limit) : limit_(limit) {}
  void UpdateArguments(grpc::ChannelArguments* args) override {
    auto* mutator = new LimitMutator;
    mutator->limit = limit_;
    grpc_socket_mutator_init(&mutator->base, &kVtable);
    args->SetSocketMutator(&mutator->base);  // Takes the reference.
  }
  void UpdatePlugins(
      std::vector<std::unique_ptr<grpc::ServerBuilderPlugin>>*) override {}

 private:
  ConnectionLimit* const limit_;
};

}  // namespace

bool ConnectionLimit::Admit(int fd) {
  if (max_ == 0) return true;
  struct stat st;
  if (fstat(fd, &st) != 0) return false;
  absl::MutexLock lock(&mu_);
  if (open_.size() >= static_cast<size_t>(max_)) PruneLocked();
  if (open_.size() >= static_cast<size_t>(max_)) {
    ++refused_;
    return false;
  }
  open_[fd] = st.st_ino;
  return true;
}

void ConnectionLimit::PruneLocked() {
  for (auto it = open_.begin(); it != open_.end();) {
    struct stat st;
    if (fstat(it->first, &st) != 0 || st.st_ino != it->second) {
      it = open_.erase(it);
    } else {
      ++it;
    }
  }
}

int ConnectionLimit::open() {
  absl::MutexLock lock(&mu_);
  PruneLocked();
  return static_cast<int>(open_.size());
}

uint64_t ConnectionLimit::refused() {
  absl::MutexLock lock(&mu_);
  return refused_;
}

std::unique_ptr<grpc::ServerBuilderOption> ConnectionLimit::BuilderOption() {
  return std::make_unique<LimitOption>(this);
}

}  // namespace gatehouse
