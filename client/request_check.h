#ifndef GATEHOUSE_CLIENT_REQUEST_CHECK_H_
#define GATEHOUSE_CLIENT_REQUEST_CHECK_H_

#include <string>

#include "absl/status/status.h"
#include "gatehouse/v1/ratelimit.pb.h"

namespace gatehouse {

// The checks a Client makes before sending a request: the values (which may
// be an end user's) against the server's own limits (service/core/request.h):
// at most 64 subjects; policy names, dimension names and values (at most
// 320 bytes) UTF-8 without control characters; hits at most 1,000,000; at
// most 16 context entries, keys of at most 64 bytes and values of at most
// 256, the same UTF-8. OK, or INVALID_ARGUMENT naming the field as the
// server would (`subjects[0].key["user"]: ...`); never echoes a value. The
// rest (missing parts, the policy's dimensions, IP syntax) is left to the
// server, which answers INVALID_ARGUMENT too.
absl::Status CheckRequestValues(
    const google::protobuf::RepeatedPtrField<v1::Subject>& subjects,
    const google::protobuf::Map<std::string, std::string>& context);

// The same checks for one subject (e.g. of an Admin request), its errors
// naming `field` (e.g. "subject" gives `subject.key["user"]: ...`).
absl::Status CheckSubjectValues(const v1::Subject& subject,
                                absl::string_view field);

// The most bytes of an operator's reason (admin.proto).
inline constexpr size_t kMaxReasonBytes = 256;

// An operator's reason (admin.proto's BlockRequest.reason and the like): at
// most kMaxReasonBytes of UTF-8 without control characters, and not empty
// when `required`. OK, or INVALID_ARGUMENT starting "<field>: " (e.g.
// "reason: " or gatehousectl's "--reason: ").
absl::Status CheckReason(absl::string_view reason, absl::string_view field,
                         bool required);

}  // namespace gatehouse

#endif  // GATEHOUSE_CLIENT_REQUEST_CHECK_H_
