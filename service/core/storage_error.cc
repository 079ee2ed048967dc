#include "service/core/storage_error.h"

#include <string>

#include "absl/strings/cord.h"

namespace gatehouse {
namespace {

constexpr char kPayloadUrl[] = "type.gatehouse.dev/gatehouse.StorageErrorKind";

constexpr StorageErrorKind kKinds[] = {StorageErrorKind::kRead,
                                       StorageErrorKind::kWrite,
                                       StorageErrorKind::kCorrupt};

}  // namespace

const char* StorageErrorKindName(StorageErrorKind kind) {
  switch (kind) {
    case StorageErrorKind::kRead:
      return "read";
    case StorageErrorKind::kWrite:
      return "write";
    case StorageErrorKind::kCorrupt:
      return "corrupt";
  }
  return "unknown";
}

absl::Status StorageError(StorageErrorKind kind, absl::string_view message) {
  absl::Status status(kind == StorageErrorKind::kCorrupt
                          ? absl::StatusCode::kDataLoss
                          : absl::StatusCode::kUnavailable,
                      message);
  status.SetPayload(kPayloadUrl, absl::Cord(StorageErrorKindName(kind)));
  return status;
}

std::optional<StorageErrorKind> StorageErrorKindOf(const absl::Status& status) {
  const auto payload = status.GetPayload(kPayloadUrl);
  if (!payload.has_value()) return std::nullopt;
  const std::string name(*payload);
  for (StorageErrorKind kind : kKinds) {
    if (name == StorageErrorKindName(kind)) return kind;
  }
  return std::nullopt;
}

}  // namespace gatehouse
