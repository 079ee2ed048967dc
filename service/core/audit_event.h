#ifndef GATEHOUSE_SERVICE_CORE_AUDIT_EVENT_H_
#define GATEHOUSE_SERVICE_CORE_AUDIT_EVENT_H_

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "service/core/request.h"
#include "service/core/verdict.h"

namespace gatehouse {

// One decision about one subject, as kept in the audit log. A plain value.
// Personal data never appears raw: `key` holds the stored (pseudonymised)
// dimension values.
struct AuditEvent {
  // Assigned by the store when the event is committed; 0 before.
  uint64_t sequence = 0;
  int64_t time_ms = 0;
  std::string client_id;
  Operation op = Operation::kCheck;
  // The RPC the caller made when it is not `op`'s own (Request::rpc);
  // empty otherwise. See RpcOf().
  std::string rpc;
  std::string policy;
  std::vector<std::pair<std::string, std::string>> key;
  Decision decision = Decision::kAllow;
  bool shadow = false;
  Decision shadow_decision = Decision::kAllow;
  uint64_t hits = 0;
  uint64_t count = 0;
  uint64_t limit = 0;
  int64_t window_ms = 0;
  bool ceiling_hit = false;
  // 0 when not locked out after this decision.
  int64_t locked_until_ms = 0;
  // As in Verdict: a permanent lockout (locked_until_ms is then
  // kPermanentLockoutShownUntilMs), and why an exempt or deny network
  // decided.
  bool permanent = false;
  VerdictReason reason = VerdictReason::kNone;
  std::string network;
  std::string deny_reason;
  // Operator calls (rpc "Block", "Unblock", "ListLockouts", "Inspect"):
  // the reason the operator gave.
  std::string operator_reason;
  std::map<std::string, std::string> context;
  // Set on refused calls (authentication or authorization): the code and
  // reason. Nothing was counted; policy may be empty and key is empty.
  std::string refusal;
  // Refusal events only (see RefusalAggregator): the caller's address
  // without its port, how many refused calls the event stands for, the
  // first and last of them, and whether a string was cut to its bound.
  std::string peer;
  uint64_t refused_calls = 0;
  int64_t first_refused_ms = 0;
  int64_t last_refused_ms = 0;
  bool truncated = false;
  // Set on a summary of a run of refusal events folded by retention: the
  // run's first sequence; the event stands for first_sequence..sequence.
  uint64_t first_sequence = 0;
};

// The RPC an event records: Request::rpc when set, else the operation's.
inline absl::string_view RpcOf(const AuditEvent& event) {
  return event.rpc.empty() ? absl::string_view(OperationName(event.op))
                           : absl::string_view(event.rpc);
}

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_CORE_AUDIT_EVENT_H_
