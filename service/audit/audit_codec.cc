#include "service/audit/audit_codec.h"

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "service/audit/proto_time.h"
#include "service/core/status_macros.h"

namespace gatehouse {
namespace {

// The ranges protobuf defines for Timestamp (years 1 to 9999) and
// Duration; anything outside is not a time, and would overflow below.
constexpr int64_t kMinTimestampSeconds = -62'135'596'800;
constexpr int64_t kMaxTimestampSeconds = 253'402'300'799;
constexpr int64_t kMaxDurationSeconds = 315'576'000'000;
constexpr int32_t kMaxNanos = 999'999'999;

absl::Status NotValid(absl::string_view field, absl::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat(field, ": not a valid ", what));
}

// `t` in milliseconds since the epoch, or 0 when `present` is false.
absl::StatusOr<int64_t> ToMillis(const google::protobuf::Timestamp& t,
                                 bool present, absl::string_view field) {
  if (!present) return 0;
  if (t.seconds() < kMinTimestampSeconds ||
      t.seconds() > kMaxTimestampSeconds || t.nanos() < 0 ||
      t.nanos() > kMaxNanos) {
    return NotValid(field, "timestamp");
  }
  return t.seconds() * 1000 + t.nanos() / 1000000;
}

absl::StatusOr<int64_t> ToMillis(const google::protobuf::Duration& d,
                                 absl::string_view field) {
  if (d.seconds() < -kMaxDurationSeconds || d.seconds() > kMaxDurationSeconds ||
      d.nanos() < -kMaxNanos || d.nanos() > kMaxNanos ||
      (d.seconds() > 0 && d.nanos() < 0) ||
      (d.seconds() < 0 && d.nanos() > 0)) {
    return NotValid(field, "duration");
  }
  return d.seconds() * 1000 + d.nanos() / 1000000;
}

v1::Verdict::Decision ToProtoDecision(Decision d) {
  return d == Decision::kAllow ? v1::Verdict::ALLOW : v1::Verdict::DENY;
}

Decision FromProtoDecision(v1::Verdict::Decision d) {
  return d == v1::Verdict::DENY ? Decision::kDeny : Decision::kAllow;
}

absl::StatusOr<VerdictReason> FromProtoReason(v1::Verdict::Reason r) {
  switch (r) {
    case v1::Verdict::REASON_UNSPECIFIED:
      return VerdictReason::kNone;
    case v1::Verdict::EXEMPT:
      return VerdictReason::kExempt;
    case v1::Verdict::DENYLISTED:
      return VerdictReason::kDenylisted;
    default:
      break;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("reason: ", static_cast<int>(r), " is not a reason"));
}

}  // namespace

v1::Verdict::Reason ReasonToProto(VerdictReason r) {
  switch (r) {
    case VerdictReason::kExempt:
      return v1::Verdict::EXEMPT;
    case VerdictReason::kDenylisted:
      return v1::Verdict::DENYLISTED;
    case VerdictReason::kNone:
      break;
  }
  return v1::Verdict::REASON_UNSPECIFIED;
}

void ToProto(const AuditEvent& e, v1::AuditEvent* out) {
  out->set_sequence(e.sequence);
  SetTimestampMillis(e.time_ms, out->mutable_time());
  out->set_client_id(e.client_id);
  out->set_rpc(std::string(RpcOf(e)));
  out->set_policy(e.policy);
  for (const auto& [dim, value] : e.key) (*out->mutable_key())[dim] = value;
  out->set_decision(ToProtoDecision(e.decision));
  out->set_count(e.count);
  out->set_limit(e.limit);
  out->set_ceiling_hit(e.ceiling_hit);
  out->set_shadow(e.shadow);
  if (e.shadow) out->set_shadow_decision(ToProtoDecision(e.shadow_decision));
  for (const auto& [k, v] : e.context) (*out->mutable_context())[k] = v;
  if (e.locked_until_ms > 0) {
    SetTimestampMillis(e.locked_until_ms, out->mutable_locked_until());
  }
  SetDurationMillis(e.window_ms, out->mutable_window());
  out->set_hits(e.hits);
  out->set_refusal(e.refusal);
  out->set_peer(e.peer);
  out->set_refused_calls(e.refused_calls);
  if (e.first_refused_ms > 0) {
    SetTimestampMillis(e.first_refused_ms, out->mutable_first_refused());
  }
  if (e.last_refused_ms > 0) {
    SetTimestampMillis(e.last_refused_ms, out->mutable_last_refused());
  }
  out->set_truncated(e.truncated);
  out->set_first_sequence(e.first_sequence);
  out->set_reason(ReasonToProto(e.reason));
  out->set_network(e.network);
  out->set_deny_reason(e.deny_reason);
  out->set_permanent(e.permanent);
  out->set_operator_reason(e.operator_reason);
}

void ToCeilingEvent(const AuditEvent& e, v1::CeilingEvent* out) {
  out->set_policy(e.policy);
  for (const auto& [dim, value] : e.key) (*out->mutable_key())[dim] = value;
  out->set_count(e.count);
  out->set_limit(e.limit);
  SetDurationMillis(e.window_ms, out->mutable_window());
  if (e.locked_until_ms > 0) {
    SetTimestampMillis(e.locked_until_ms, out->mutable_locked_until());
  }
  out->set_sequence(e.sequence);
  SetTimestampMillis(e.time_ms, out->mutable_time());
  out->set_rpc(std::string(RpcOf(e)));
  out->set_permanent(e.permanent);
}

absl::StatusOr<AuditEvent> FromProto(const v1::AuditEvent& p) {
  AuditEvent e;
  e.sequence = p.sequence();
  GH_ASSIGN_OR_RETURN(e.time_ms, ToMillis(p.time(), true, "time"));
  e.client_id = p.client_id();
  const std::optional<Operation> op = OperationFromName(p.rpc());
  if (!op.has_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat("rpc: \"", p.rpc(), "\" is not an operation"));
  }
  e.op = *op;
  e.policy = p.policy();
  // Canonical (sorted) dimension order, as DeriveSubjectKey produces.
  std::map<std::string, std::string> key(p.key().begin(), p.key().end());
  e.key.assign(key.begin(), key.end());
  e.decision = FromProtoDecision(p.decision());
  e.count = p.count();
  e.limit = p.limit();
  e.ceiling_hit = p.ceiling_hit();
  e.shadow = p.shadow();
  e.shadow_decision = FromProtoDecision(p.shadow_decision());
  e.context.insert(p.context().begin(), p.context().end());
  GH_ASSIGN_OR_RETURN(
      e.locked_until_ms,
      ToMillis(p.locked_until(), p.has_locked_until(), "locked_until"));
  GH_ASSIGN_OR_RETURN(e.window_ms, ToMillis(p.window(), "window"));
  e.hits = p.hits();
  e.refusal = p.refusal();
  e.peer = p.peer();
  e.refused_calls = p.refused_calls();
  GH_ASSIGN_OR_RETURN(
      e.first_refused_ms,
      ToMillis(p.first_refused(), p.has_first_refused(), "first_refused"));
  GH_ASSIGN_OR_RETURN(
      e.last_refused_ms,
      ToMillis(p.last_refused(), p.has_last_refused(), "last_refused"));
  e.truncated = p.truncated();
  e.first_sequence = p.first_sequence();
  GH_ASSIGN_OR_RETURN(e.reason, FromProtoReason(p.reason()));
  e.network = p.network();
  e.deny_reason = p.deny_reason();
  e.permanent = p.permanent();
  e.operator_reason = p.operator_reason();
  return e;
}

}  // namespace gatehouse
