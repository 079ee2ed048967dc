#ifndef GATEHOUSE_SERVICE_GRPC_STREAM_QUOTA_H_
#define GATEHOUSE_SERVICE_GRPC_STREAM_QUOTA_H_

#include <map>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace gatehouse {

// Caps the long-lived streams (Audit.Stream, WatchCeilings) one client may
// hold open at once, so one caller cannot pin every server thread.
//
// Thread-safe; leases must not outlive the quota.
class StreamQuota {
 public:
  // 0 means no cap.
  explicit StreamQuota(int max_per_client) : max_(max_per_client) {}

  // Releases its slot on destruction.
  class Lease {
   public:
    ~Lease() { quota_->Release(client_); }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;

   private:
    friend class StreamQuota;
    Lease(StreamQuota* quota, std::string client)
        : quota_(quota), client_(std::move(client)) {}
    StreamQuota* const quota_;
    const std::string client_;
  };

  // A slot for `client`, or null when it already holds the maximum.
  std::unique_ptr<Lease> Acquire(const std::string& client);

  int open(const std::string& client) const;

 private:
  void Release(const std::string& client);

  const int max_;
  mutable absl::Mutex mu_;
  std::map<std::string, int> open_ ABSL_GUARDED_BY(mu_);
};

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_GRPC_STREAM_QUOTA_H_
