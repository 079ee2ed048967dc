#ifndef GATEHOUSE_SERVICE_AUDIT_AUDIT_CODEC_H_
#define GATEHOUSE_SERVICE_AUDIT_AUDIT_CODEC_H_

#include <string>

#include "absl/status/statusor.h"
#include "gatehouse/v1/audit.pb.h"
#include "gatehouse/v1/ratelimit.pb.h"
#include "service/core/audit_event.h"

namespace gatehouse {

// The one mapping between the domain AuditEvent and the wire
// gatehouse.v1.AuditEvent (the stored form is audit_storage_codec.h's).
void ToProto(const AuditEvent& event, v1::AuditEvent* out);
// The ceiling hit recorded by `event`, as WatchCeilings pushes it.
void ToCeilingEvent(const AuditEvent& event, v1::CeilingEvent* out);
// INVALID_ARGUMENT naming the field when `event` holds what no domain event
// can (an unknown rpc, a time or duration outside protobuf's ranges).
absl::StatusOr<AuditEvent> FromProto(const v1::AuditEvent& event);
// The wire form of a verdict's reason, for audit events and verdicts alike.
v1::Verdict::Reason ReasonToProto(VerdictReason reason);

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_AUDIT_AUDIT_CODEC_H_
