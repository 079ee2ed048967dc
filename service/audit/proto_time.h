#ifndef GATEHOUSE_SERVICE_AUDIT_PROTO_TIME_H_
#define GATEHOUSE_SERVICE_AUDIT_PROTO_TIME_H_

#include <cstdint>

#include "absl/time/time.h"
#include "google/protobuf/duration.pb.h"
#include "google/protobuf/timestamp.pb.h"

namespace gatehouse {

// The one home of time conversions into the wire messages' well-known
// types. Negative values keep protobuf's normal form (a Timestamp's nanos
// are never negative; a Duration's share its seconds' sign).

// `ms` milliseconds since the Unix epoch.
void SetTimestampMillis(int64_t ms, google::protobuf::Timestamp* out);
// A duration of `ms` milliseconds.
void SetDurationMillis(int64_t ms, google::protobuf::Duration* out);
// `d`, to the nanosecond.
void SetDuration(absl::Duration d, google::protobuf::Duration* out);

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_AUDIT_PROTO_TIME_H_
