#ifndef GATEHOUSE_CLIENT_AUDIT_TAIL_H_
#define GATEHOUSE_CLIENT_AUDIT_TAIL_H_

#include <grpcpp/channel.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "gatehouse/v1/audit.pb.h"
#include "grpcpp/support/status.h"

namespace gatehouse {

struct AuditTailOptions {
  // 0: from the oldest retained event.
  uint64_t from_sequence = 0;
  bool follow = false;
  std::vector<std::string> policies;
  bool ceiling_only = false;
  // Bearer token; empty sends none.
  std::string token;
};

// Streams audit events from `channel` (gatehouse.v1.Audit/Stream) and hands
// each to `sink` until the stream ends (without follow: at the head), the
// sink returns false, or an error. Returns the stream's final status (OK
// when the sink stopped it).
grpc::Status TailAudit(const std::shared_ptr<grpc::Channel>& channel,
                       const AuditTailOptions& options,
                       const std::function<bool(const v1::AuditEvent&)>& sink);

// One event as a JSON object on one line, with proto field names.
std::string AuditEventToJsonLine(const v1::AuditEvent& event);

}  // namespace gatehouse

#endif  // GATEHOUSE_CLIENT_AUDIT_TAIL_H_
