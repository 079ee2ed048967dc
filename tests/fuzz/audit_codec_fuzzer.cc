// Fuzzes the audit event storage codec (both stored forms: the versioned
// one and the wire messages stored before it). Decoding arbitrary bytes
// either fails with DATA_LOSS or gives an event whose encoding decodes to
// the same event, and that encoding is canonical.

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/string_view.h"
#include "service/audit/audit_storage_codec.h"
#include "tests/fuzz/fuzz_util.h"

namespace gatehouse {
namespace {

bool SameEvent(const AuditEvent& a, const AuditEvent& b) {
  return a.sequence == b.sequence && a.time_ms == b.time_ms &&
         a.client_id == b.client_id && a.op == b.op && a.policy == b.policy &&
         a.key == b.key && a.decision == b.decision && a.shadow == b.shadow &&
         a.shadow_decision == b.shadow_decision && a.hits == b.hits &&
         a.count == b.count && a.limit == b.limit &&
         a.window_ms == b.window_ms && a.ceiling_hit == b.ceiling_hit &&
         a.locked_until_ms == b.locked_until_ms && a.context == b.context &&
         a.refusal == b.refusal && a.peer == b.peer &&
         a.refused_calls == b.refused_calls &&
         a.first_refused_ms == b.first_refused_ms &&
         a.last_refused_ms == b.last_refused_ms && a.truncated == b.truncated &&
         a.first_sequence == b.first_sequence;
}

}  // namespace
}  // namespace gatehouse

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace gatehouse;
  const absl::string_view bytes(reinterpret_cast<const char*>(data), size);
  const absl::StatusOr<AuditEvent> decoded = DecodeAuditEvent(bytes);
  if (!decoded.ok()) {
    FUZZ_CHECK(decoded.status().code() == absl::StatusCode::kDataLoss,
               decoded.status().ToString());
    return 0;
  }
  const std::string encoded = EncodeAuditEvent(*decoded);
  const absl::StatusOr<AuditEvent> again = DecodeAuditEvent(encoded);
  FUZZ_CHECK(again.ok(), again.status().ToString() + " re-decoding " +
                             absl::BytesToHexString(encoded));
  FUZZ_CHECK(SameEvent(*again, *decoded),
             "round trip changed the event: " + absl::BytesToHexString(bytes));
  FUZZ_CHECK(EncodeAuditEvent(*again) == encoded,
             absl::BytesToHexString(encoded));
  return 0;
}
