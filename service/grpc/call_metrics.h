#ifndef GATEHOUSE_SERVICE_GRPC_CALL_METRICS_H_
#define GATEHOUSE_SERVICE_GRPC_CALL_METRICS_H_

#include <grpcpp/support/status.h>

#include <chrono>
#include <vector>

#include "absl/status/status.h"
#include "service/auth/authenticator.h"
#include "service/core/request.h"
#include "service/core/verdict.h"
#include "service/metrics/gatehouse_metrics.h"

namespace gatehouse {

// Records what the gRPC services do into GatehouseMetrics. A null metrics
// pointer makes every call a no-op (tests that do not look at metrics).
// Thread-safe; the metrics must outlive it.
class CallMetrics {
 public:
  explicit CallMetrics(metrics::GatehouseMetrics* metrics) : m_(metrics) {}

  // Counts one call of `method` in flight for its lifetime and, on
  // destruction, its code and latency. Set the code with Finish().
  class Call {
   public:
    Call(const CallMetrics* owner, const char* method);
    ~Call();
    Call(const Call&) = delete;
    Call& operator=(const Call&) = delete;

    const grpc::Status& Finish(const grpc::Status& status) {
      code_ = status.error_code();
      return status;
    }

   private:
    const CallMetrics* const owner_;
    const char* const method_;
    const std::chrono::steady_clock::time_point start_;
    grpc::StatusCode code_ = grpc::StatusCode::UNKNOWN;
  };

  // Decisions, ceiling hits and lockouts of a Check, Peek or Record.
  void RecordVerdicts(Operation op, const std::vector<Verdict>& verdicts) const;
  // One item of a Batch call finished with `code`.
  void RecordBatchItem(Operation op, absl::StatusCode code) const;
  void RecordAuthFailure(AuthFailure failure) const;
  // `n` descriptors of a ShouldRateLimit call in `domain` matched no
  // policy (answered OK, no limit).
  void RecordUnmatchedDescriptors(const std::string& domain, uint64_t n) const;
  // Counts a storage failure (UNAVAILABLE / DATA_LOSS from the store).
  void RecordStorageError(const absl::Status& status) const;

  // Audit stream consumers: the number open, and each client's lag.
  void ConsumerStarted() const;
  void ConsumerStopped() const;
  void ConsumerLag(const std::string& client, uint64_t head,
                   uint64_t next_sequence) const;

 private:
  metrics::GatehouseMetrics* const m_;
};

// Counts an audit stream consumer for its lifetime.
class ConsumerScope {
 public:
  explicit ConsumerScope(const CallMetrics* metrics) : metrics_(metrics) {
    metrics_->ConsumerStarted();
  }
  ~ConsumerScope() { metrics_->ConsumerStopped(); }
  ConsumerScope(const ConsumerScope&) = delete;
  ConsumerScope& operator=(const ConsumerScope&) = delete;

 private:
  const CallMetrics* const metrics_;
};

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_GRPC_CALL_METRICS_H_
