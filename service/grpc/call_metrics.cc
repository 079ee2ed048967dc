#include "service/grpc/call_metrics.h"

#include <optional>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "service/core/storage_error.h"

namespace gatehouse {
namespace {

using metrics::GatehouseMetrics;

const char* RpcLabel(Operation op) {
  switch (op) {
    case Operation::kCheck:
      return GatehouseMetrics::kRpcCheck;
    case Operation::kPeek:
      return GatehouseMetrics::kRpcPeek;
    case Operation::kRecord:
      return GatehouseMetrics::kRpcRecord;
    case Operation::kReset:
      break;
  }
  return nullptr;
}

}  // namespace

CallMetrics::Call::Call(const CallMetrics* owner, const char* method)
    : owner_(owner), method_(method), start_(std::chrono::steady_clock::now()) {
  if (owner_->m_ != nullptr) owner_->m_->inflight_requests.Increment();
}

CallMetrics::Call::~Call() {
  GatehouseMetrics* m = owner_->m_;
  if (m == nullptr) return;
  m->inflight_requests.Decrement();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_)
          .count();
  m->grpc_request_duration_seconds.WithLabels({method_}).Observe(seconds);
  m->grpc_requests_total
      .WithLabels({method_, absl::StatusCodeToString(
                                static_cast<absl::StatusCode>(code_))})
      .Increment();
}

void CallMetrics::RecordVerdicts(Operation op,
                                 const std::vector<Verdict>& verdicts) const {
  if (m_ == nullptr) return;
  const char* rpc = RpcLabel(op);
  for (const Verdict& v : verdicts) {
    if (rpc != nullptr) {
      const char* decision = v.decision == Decision::kDeny
                                 ? GatehouseMetrics::kDecisionDeny
                             : v.shadow && v.shadow_decision == Decision::kDeny
                                 ? GatehouseMetrics::kDecisionShadowDeny
                                 : GatehouseMetrics::kDecisionAllow;
      m_->decisions_total.WithLabels({v.policy, rpc, decision}).Increment();
    }
    if (v.ceiling_hit) {
      m_->ceiling_hits_total.WithLabels({v.policy}).Increment();
      if (v.locked_until.has_value()) {
        m_->lockouts_total.WithLabels({v.policy}).Increment();
        if (v.permanent) {
          m_->permanent_lockouts_total.WithLabels({v.policy}).Increment();
        }
      }
    }
    if (rpc != nullptr && v.reason == VerdictReason::kExempt) {
      m_->exempt_total.WithLabels({v.policy}).Increment();
    } else if (rpc != nullptr && v.reason == VerdictReason::kDenylisted) {
      m_->denylisted_total.WithLabels({v.policy}).Increment();
    }
  }
}

void CallMetrics::RecordBatchItem(Operation op, absl::StatusCode code) const {
  if (m_ == nullptr) return;
  const char* rpc = RpcLabel(op);
  m_->batch_items_total
      .WithLabels({rpc != nullptr ? rpc : GatehouseMetrics::kRpcReset,
                   absl::StatusCodeToString(code)})
      .Increment();
}

void CallMetrics::RecordAuthFailure(AuthFailure failure) const {
  if (m_ == nullptr || failure == AuthFailure::kNone) return;
  m_->auth_failures_total.WithLabels({AuthFailureName(failure)}).Increment();
}

void CallMetrics::RecordUnmatchedDescriptors(const std::string& domain,
                                             uint64_t n) const {
  if (m_ == nullptr || n == 0) return;
  m_->envoy_unmatched_descriptors_total.WithLabels({domain}).Increment(n);
}

void CallMetrics::RecordStorageError(const absl::Status& status) const {
  if (m_ == nullptr) return;
  // Corrupt data is found by reading it. A failure the store did not
  // classify is counted as a write, the operation that changes state.
  const std::optional<StorageErrorKind> kind = StorageErrorKindOf(status);
  const bool read =
      kind == StorageErrorKind::kRead || kind == StorageErrorKind::kCorrupt;
  const char* operation =
      read ? GatehouseMetrics::kStorageRead : GatehouseMetrics::kStorageWrite;
  m_->storage_errors_total.WithLabels({operation}).Increment();
}

void CallMetrics::ConsumerStarted() const {
  if (m_ != nullptr) m_->audit_stream_consumers.Increment();
}

void CallMetrics::ConsumerStopped() const {
  if (m_ != nullptr) m_->audit_stream_consumers.Decrement();
}

void CallMetrics::ConsumerLag(const std::string& client, uint64_t head,
                              uint64_t next_sequence) const {
  if (m_ == nullptr) return;
  const double lag = head + 1 > next_sequence
                         ? static_cast<double>(head + 1 - next_sequence)
                         : 0;
  m_->audit_consumer_lag_events.WithLabels({client}).Set(lag);
}

}  // namespace gatehouse
