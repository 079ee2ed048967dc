#ifndef GATEHOUSE_SERVICE_GRPC_AUDIT_STREAMING_H_
#define GATEHOUSE_SERVICE_GRPC_AUDIT_STREAMING_H_

#include <grpcpp/server_context.h>

#include <functional>

#include "service/audit/audit_cursor.h"

namespace gatehouse {

// Drives `cursor` until it is done, the call is cancelled (client gone or
// server shutting down), `write` returns false, or `recheck` (called before
// each batch, and at least every 200ms while waiting for events) returns an
// error, which ends the stream with that status: a caller whose token or
// scope a reload took away gets no further event. Each event goes to
// `write`; each blocking write is paced by gRPC flow control, so a slow
// consumer holds one batch of events, never a growing queue.
grpc::Status PumpAuditCursor(
    grpc::ServerContext* context, AuditCursor& cursor,
    const std::function<absl::Status()>& recheck,
    const std::function<bool(const AuditEvent&)>& write);

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_GRPC_AUDIT_STREAMING_H_
