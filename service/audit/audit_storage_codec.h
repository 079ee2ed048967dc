#ifndef GATEHOUSE_SERVICE_AUDIT_AUDIT_STORAGE_CODEC_H_
#define GATEHOUSE_SERVICE_AUDIT_AUDIT_STORAGE_CODEC_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "service/core/audit_event.h"

namespace gatehouse {

// The stored form of an audit event, versioned and independent of the
// public gatehouse.v1.AuditEvent, so the API can evolve without rewriting
// history (as value_codec is for counter states).
//
//   0x00, version (1), then in order: sequence, time_ms (zigzag),
//   client_id, operation (a byte), policy, key (count, then name/value
//   pairs), decision, flags (shadow, ceiling_hit, truncated),
//   shadow_decision, hits, count, limit, window_ms, locked_until_ms
//   (zigzag), context (count, then key/value pairs), refusal, peer,
//   refused_calls, first_refused_ms and last_refused_ms (zigzag),
//   first_sequence. Integers are varints, strings length-prefixed.
//   Version 2 (written only for events that use it) adds flag 8
//   (permanent) and, at the end, reason (a byte: 0 none, 1 exempt,
//   2 denylisted), network, deny_reason and rpc (empty: the operation's
//   own). Version 1 still decodes.
//
// Events written before this codec are the wire message's serialization;
// they still decode (a serialized message never starts with 0x00: field
// number 0 does not exist).
std::string EncodeAuditEvent(const AuditEvent& event);

// DATA_LOSS (a StorageErrorKind::kCorrupt storage error) when `bytes` is
// not an encoding of either form: an unknown version, operation or
// decision, truncated or trailing bytes.
absl::StatusOr<AuditEvent> DecodeAuditEvent(absl::string_view bytes);

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_AUDIT_AUDIT_STORAGE_CODEC_H_
