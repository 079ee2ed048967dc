#include "service/audit/audit_storage_codec.h"

#include <cstdint>

#include "absl/strings/str_cat.h"
#include "gatehouse/v1/audit.pb.h"
#include "service/audit/audit_codec.h"
#include "service/core/byte_codec.h"
#include "service/core/storage_error.h"

namespace gatehouse {
namespace {

constexpr char kMarker = '\0';
// Version 2 adds the permanent flag, the reason, the network, the deny
// reason and the rpc. Events without them are still written as version 1, which
// a binary from before version 2 reads (a rollback keeps its audit log).
constexpr uint8_t kVersion1 = 1;
constexpr uint8_t kVersion2 = 2;
// Version 3 adds the operator's reason (Admin calls); written only for them.
constexpr uint8_t kVersion3 = 3;
constexpr uint8_t kFlagShadow = 1;
constexpr uint8_t kFlagCeilingHit = 2;
constexpr uint8_t kFlagTruncated = 4;
constexpr uint8_t kFlagPermanent = 8;
constexpr uint8_t kKnownFlagsV1 =
    kFlagShadow | kFlagCeilingHit | kFlagTruncated;
constexpr uint8_t kKnownFlagsV2 = kKnownFlagsV1 | kFlagPermanent;
// Far above anything validation lets in; bounds what a corrupt length can
// make the decoder allocate.
constexpr size_t kMaxStringBytes = 1 << 20;
constexpr uint64_t kMaxEntries = 1 << 12;

absl::Status Corrupt(absl::string_view what) {
  return StorageError(StorageErrorKind::kCorrupt,
                      absl::StrCat("corrupt audit event: ", what));
}

uint8_t OperationByte(Operation op) { return static_cast<uint8_t>(op); }

bool ReadOperation(ByteReader& r, Operation& op) {
  uint8_t b;
  if (!r.Byte(b)) return false;
  for (Operation known : kOperations) {
    if (OperationByte(known) == b) {
      op = known;
      return true;
    }
  }
  return false;
}

bool ReadDecision(ByteReader& r, Decision& d) {
  uint8_t b;
  if (!r.Byte(b) || b > 1) return false;
  d = b == 0 ? Decision::kAllow : Decision::kDeny;
  return true;
}

template <typename Pairs>
void PutPairs(std::string& out, const Pairs& pairs) {
  PutVarint(out, pairs.size());
  for (const auto& [k, v] : pairs) {
    PutBytes(out, k);
    PutBytes(out, v);
  }
}

// Calls add(key, value) for each stored pair.
template <typename Add>
bool ReadPairs(ByteReader& r, Add add) {
  uint64_t n;
  if (!r.Varint(n) || n > kMaxEntries) return false;
  for (uint64_t i = 0; i < n; ++i) {
    std::string k, v;
    if (!r.Bytes(k, kMaxStringBytes) || !r.Bytes(v, kMaxStringBytes)) {
      return false;
    }
    add(std::move(k), std::move(v));
  }
  return true;
}

bool ReadReason(ByteReader& r, VerdictReason& reason) {
  uint8_t b;
  if (!r.Byte(b)) return false;
  switch (b) {
    case 0:
      reason = VerdictReason::kNone;
      return true;
    case 1:
      reason = VerdictReason::kExempt;
      return true;
    case 2:
      reason = VerdictReason::kDenylisted;
      return true;
  }
  return false;
}

uint8_t ReasonByte(VerdictReason reason) {
  switch (reason) {
    case VerdictReason::kExempt:
      return 1;
    case VerdictReason::kDenylisted:
      return 2;
    case VerdictReason::kNone:
      break;
  }
  return 0;
}

absl::StatusOr<AuditEvent> DecodeLegacy(absl::string_view bytes) {
  v1::AuditEvent proto;
  if (!proto.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return Corrupt("not a stored event");
  }
  absl::StatusOr<AuditEvent> event = FromProto(proto);
  if (!event.ok()) return Corrupt(event.status().message());
  return event;
}

}  // namespace

std::string EncodeAuditEvent(const AuditEvent& e) {
  std::string out;
  out.reserve(64 + e.policy.size() + e.client_id.size() + e.refusal.size());
  const bool v3 = !e.operator_reason.empty();
  const bool v2 = v3 || e.permanent || e.reason != VerdictReason::kNone ||
                  !e.network.empty() || !e.deny_reason.empty() ||
                  !e.rpc.empty();
  out.push_back(kMarker);
  out.push_back(static_cast<char>(v3 ? kVersion3 : v2 ? kVersion2 : kVersion1));
  PutVarint(out, e.sequence);
  PutVarint(out, ZigZag(e.time_ms));
  PutBytes(out, e.client_id);
  out.push_back(static_cast<char>(OperationByte(e.op)));
  PutBytes(out, e.policy);
  PutPairs(out, e.key);
  out.push_back(e.decision == Decision::kDeny ? 1 : 0);
  out.push_back(static_cast<char>(
      (e.shadow ? kFlagShadow : 0) | (e.ceiling_hit ? kFlagCeilingHit : 0) |
      (e.truncated ? kFlagTruncated : 0) | (e.permanent ? kFlagPermanent : 0)));
  out.push_back(e.shadow_decision == Decision::kDeny ? 1 : 0);
  PutVarint(out, e.hits);
  PutVarint(out, e.count);
  PutVarint(out, e.limit);
  PutVarint(out, ZigZag(e.window_ms));
  PutVarint(out, ZigZag(e.locked_until_ms));
  PutPairs(out, e.context);
  PutBytes(out, e.refusal);
  PutBytes(out, e.peer);
  PutVarint(out, e.refused_calls);
  PutVarint(out, ZigZag(e.first_refused_ms));
  PutVarint(out, ZigZag(e.last_refused_ms));
  PutVarint(out, e.first_sequence);
  if (v2) {
    out.push_back(static_cast<char>(ReasonByte(e.reason)));
    PutBytes(out, e.network);
    PutBytes(out, e.deny_reason);
    PutBytes(out, e.rpc);
  }
  if (v3) PutBytes(out, e.operator_reason);
  return out;
}

absl::StatusOr<AuditEvent> DecodeAuditEvent(absl::string_view bytes) {
  if (bytes.empty() || bytes[0] != kMarker) return DecodeLegacy(bytes);
  ByteReader r(bytes.substr(1));
  AuditEvent e;
  uint8_t version;
  if (!r.Byte(version) || version < kVersion1 || version > kVersion3) {
    return Corrupt("version");
  }
  const uint8_t known_flags =
      version == kVersion1 ? kKnownFlagsV1 : kKnownFlagsV2;
  if (!r.Varint(e.sequence) || !r.ZigZagged(e.time_ms) ||
      !r.Bytes(e.client_id, kMaxStringBytes)) {
    return Corrupt("header");
  }
  if (!ReadOperation(r, e.op)) return Corrupt("operation");
  if (!r.Bytes(e.policy, kMaxStringBytes) ||
      !ReadPairs(r, [&](std::string k, std::string v) {
        e.key.emplace_back(std::move(k), std::move(v));
      })) {
    return Corrupt("key");
  }
  uint8_t flags;
  if (!ReadDecision(r, e.decision) || !r.Byte(flags) ||
      (flags & ~known_flags) != 0 || !ReadDecision(r, e.shadow_decision)) {
    return Corrupt("decision");
  }
  e.shadow = (flags & kFlagShadow) != 0;
  e.ceiling_hit = (flags & kFlagCeilingHit) != 0;
  e.truncated = (flags & kFlagTruncated) != 0;
  e.permanent = (flags & kFlagPermanent) != 0;
  if (!r.Varint(e.hits) || !r.Varint(e.count) || !r.Varint(e.limit) ||
      !r.ZigZagged(e.window_ms) || !r.ZigZagged(e.locked_until_ms)) {
    return Corrupt("counts");
  }
  if (!ReadPairs(r,
                 [&](std::string k, std::string v) {
                   e.context.emplace(std::move(k), std::move(v));
                 }) ||
      !r.Bytes(e.refusal, kMaxStringBytes)) {
    return Corrupt("context");
  }
  if (!r.Bytes(e.peer, kMaxStringBytes) || !r.Varint(e.refused_calls) ||
      !r.ZigZagged(e.first_refused_ms) || !r.ZigZagged(e.last_refused_ms) ||
      !r.Varint(e.first_sequence)) {
    return Corrupt("refusal");
  }
  if (version >= kVersion2 &&
      (!ReadReason(r, e.reason) || !r.Bytes(e.network, kMaxStringBytes) ||
       !r.Bytes(e.deny_reason, kMaxStringBytes) ||
       !r.Bytes(e.rpc, kMaxStringBytes))) {
    return Corrupt("reason");
  }
  if (version >= kVersion3 && !r.Bytes(e.operator_reason, kMaxStringBytes)) {
    return Corrupt("operator reason");
  }
  if (!r.done()) return Corrupt("trailing bytes");
  return e;
}

}  // namespace gatehouse
