#include "service/core/counter_store.h"

#include <algorithm>

namespace gatehouse {

void StampAuditSequences(WriteSet& writes) {
  const size_t n = std::min(writes.puts.size(), writes.put_events.size());
  for (size_t i = 0; i < n; ++i) {
    const size_t event = writes.put_events[i];
    if (event < writes.audit.size()) {
      writes.puts[i].second.last_audit_sequence = writes.audit[event].sequence;
    }
  }
}

}  // namespace gatehouse
