#ifndef GATEHOUSE_SERVICE_CORE_REQUEST_H_
#define GATEHOUSE_SERVICE_CORE_REQUEST_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gatehouse {

enum class Operation { kCheck, kPeek, kRecord, kReset };

// The one table of operations and their names ("Check", ...), as they
// appear in the API, the audit log, metrics and logs.
inline constexpr Operation kOperations[] = {
    Operation::kCheck, Operation::kPeek, Operation::kRecord, Operation::kReset};
const char* OperationName(Operation op);
// The operation named `name`; nullopt for any other string.
std::optional<Operation> OperationFromName(std::string_view name);

// Limits on what one request may carry; larger inputs are INVALID_ARGUMENT.
inline constexpr size_t kMaxSubjects = 64;
// A dimension value: room for any valid e-mail address (RFC 5321: 64-byte
// local part, @, 255-byte domain). Personal values are hashed before
// storage, so the bound is about request size, not what is stored.
inline constexpr size_t kMaxDimensionValueBytes = 320;
inline constexpr uint64_t kMaxHits = 1'000'000;
inline constexpr size_t kMaxContextEntries = 16;
inline constexpr size_t kMaxContextKeyBytes = 64;
inline constexpr size_t kMaxContextValueBytes = 256;
// Limits on one Batch: items, and subjects over all items.
inline constexpr size_t kMaxBatchItems = 256;
inline constexpr size_t kMaxBatchSubjects = 1024;

// One subject of a request, as the caller sent it (not yet validated).
struct SubjectRequest {
  std::string policy;
  std::map<std::string, std::string> key;
  // 0 means 1.
  uint64_t hits = 0;
  // How the caller's request names this subject, and each dimension's
  // value, in error messages; empty: "subjects[i]" and
  // "subjects[i].key[\"dim\"]". Set by transports whose requests have
  // another shape (Envoy's descriptors: "descriptors[1]",
  // "descriptors[1].entries[0].value").
  std::string field;
  std::map<std::string, std::string> value_fields;
};

// A Check, Peek, Record or Reset, independent of the transport.
struct Request {
  std::vector<SubjectRequest> subjects;
  // Free-form context kept for the audit log (route, user agent).
  std::map<std::string, std::string> context;
  // Who asked (the credentials file's client id), for the audit log.
  std::string client_id;
  // The RPC the caller made when it is not the operation's own (e.g.
  // "ShouldRateLimit" deciding as a Check); empty otherwise. Kept in the
  // audit log.
  std::string rpc;
  // Operator calls (the Admin service): the reason the operator gave, kept
  // in the audit log.
  std::string operator_reason;
};

// One operation of a batch (Limiter::RunBatch): a view, the request is not
// owned.
struct BatchItem {
  Operation op = Operation::kCheck;
  const Request* request = nullptr;
};

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_CORE_REQUEST_H_
