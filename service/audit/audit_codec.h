#ifndef GATEHOUSE_SERVICE_AUDIT_AUDIT_CODEC_H_
#define GATEHOUSE_SERVICE_AUDIT_AUDIT_CODEC_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "gatehouse/v1/audit.pb.h"
#include "service/core/audit_event.h"

namespace gatehouse {

// The one mapping between the domain AuditEvent and the wire
// gatehouse.v1.AuditEvent. The stored form is the wire message's
// serialization, so what consumers stream is exactly what was committed.
void ToProto(const AuditEvent& event, v1::AuditEvent* out);
AuditEvent FromProto(const v1::AuditEvent& event);

std::string EncodeAuditEvent(const AuditEvent& event);
// DATA_LOSS when `bytes` is not a valid encoding.
absl::StatusOr<AuditEvent> DecodeAuditEvent(absl::string_view bytes);

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_AUDIT_AUDIT_CODEC_H_
