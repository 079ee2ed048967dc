#include "service/grpc/proto_convert.h"

#include "service/audit/audit_codec.h"
#include "service/audit/proto_time.h"

namespace gatehouse {
namespace {

v1::Verdict::Decision ToProto(Decision d) {
  return d == Decision::kAllow ? v1::Verdict::ALLOW : v1::Verdict::DENY;
}

}  // namespace

Request FromProto(
    const google::protobuf::RepeatedPtrField<v1::Subject>& subjects,
    const google::protobuf::Map<std::string, std::string>& context) {
  Request request;
  request.subjects.reserve(subjects.size());
  for (const v1::Subject& s : subjects) {
    SubjectRequest subject;
    subject.policy = s.policy();
    subject.key.insert(s.key().begin(), s.key().end());
    subject.hits = s.hits();
    request.subjects.push_back(std::move(subject));
  }
  request.context.insert(context.begin(), context.end());
  return request;
}

void ToProto(const Verdict& v, v1::Verdict* out) {
  out->set_policy(v.policy);
  out->set_decision(ToProto(v.decision));
  out->set_count(v.count);
  out->set_limit(v.limit);
  out->set_remaining(v.remaining);
  SetDuration(v.retry_after, out->mutable_retry_after());
  SetDuration(v.reset_after, out->mutable_reset_after());
  SetDuration(v.window, out->mutable_window());
  out->set_ceiling_hit(v.ceiling_hit);
  out->set_shadow(v.shadow);
  if (v.shadow) out->set_shadow_decision(ToProto(v.shadow_decision));
  out->set_audit_sequence(v.audit_sequence);
  out->set_reason(ReasonToProto(v.reason));
  out->set_network(v.network);
  out->set_deny_reason(v.deny_reason);
  out->set_permanent(v.permanent);
  if (v.locked_until.has_value()) {
    SetTimestampMillis(absl::ToUnixMillis(*v.locked_until),
                       out->mutable_locked_until());
  }
}

}  // namespace gatehouse
