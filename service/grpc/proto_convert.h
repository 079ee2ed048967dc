#ifndef GATEHOUSE_SERVICE_GRPC_PROTO_CONVERT_H_
#define GATEHOUSE_SERVICE_GRPC_PROTO_CONVERT_H_

#include <google/protobuf/map.h>
#include <google/protobuf/repeated_ptr_field.h>

#include "gatehouse/v1/ratelimit.pb.h"
#include "service/core/request.h"
#include "service/core/verdict.h"

namespace gatehouse {

// Copies the wire request into the domain request. Validation happens in the
// domain (Limiter), so this never fails.
Request FromProto(
    const google::protobuf::RepeatedPtrField<v1::Subject>& subjects,
    const google::protobuf::Map<std::string, std::string>& context);

void ToProto(const Verdict& verdict, v1::Verdict* out);

// Fills `allowed` and `verdicts` of any of the four response messages.
template <typename ResponseProto>
void ToProto(const Response& response, ResponseProto* out) {
  out->set_allowed(response.allowed);
  out->mutable_verdicts()->Reserve(static_cast<int>(response.verdicts.size()));
  for (const Verdict& v : response.verdicts) ToProto(v, out->add_verdicts());
}

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_GRPC_PROTO_CONVERT_H_
