#include "service/grpc/audit_streaming.h"

#include "service/grpc/status_convert.h"

namespace gatehouse {
namespace {

// Events read per batch, and how often a waiting stream rechecks for
// cancellation.
constexpr size_t kBatch = 256;
constexpr absl::Duration kPollInterval = absl::Milliseconds(200);

}  // namespace

grpc::Status PumpAuditCursor(
    grpc::ServerContext* context, AuditCursor& cursor,
    const std::function<absl::Status()>& recheck,
    const std::function<bool(const AuditEvent&)>& write) {
  while (!context->IsCancelled()) {
    absl::StatusOr<std::vector<AuditEvent>> batch =
        cursor.Next(kBatch, kPollInterval);
    if (!batch.ok()) return ToGrpcStatus(batch.status());
    if (absl::Status allowed = recheck(); !allowed.ok()) {
      return ToGrpcStatus(allowed);
    }
    for (const AuditEvent& event : *batch) {
      if (!write(event)) return grpc::Status::OK;  // The client went away.
    }
    if (cursor.done()) return grpc::Status::OK;
  }
  return grpc::Status(grpc::StatusCode::CANCELLED, "stream cancelled");
}

}  // namespace gatehouse
