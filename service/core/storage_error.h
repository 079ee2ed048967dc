#ifndef GATEHOUSE_SERVICE_CORE_STORAGE_ERROR_H_
#define GATEHOUSE_SERVICE_CORE_STORAGE_ERROR_H_

#include <optional>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace gatehouse {

// What failed when storage failed. Carried in the status as a payload, so
// callers (metric labels, logs) tell kinds apart without reading messages.
enum class StorageErrorKind {
  kRead,     // a read or scan did not complete
  kWrite,    // a commit or maintenance write did not complete
  kCorrupt,  // stored bytes were read but do not decode
};

// "read", "write" or "corrupt".
const char* StorageErrorKindName(StorageErrorKind kind);

// A storage failure of `kind`: UNAVAILABLE for kRead and kWrite (storage may
// recover), DATA_LOSS for kCorrupt; `message` says what and why.
absl::Status StorageError(StorageErrorKind kind, absl::string_view message);

// The kind StorageError() put in `status`; nullopt for any other status.
std::optional<StorageErrorKind> StorageErrorKindOf(const absl::Status& status);

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_CORE_STORAGE_ERROR_H_
