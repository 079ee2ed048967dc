#ifndef GATEHOUSE_SERVICE_CONFIG_DURATION_H_
#define GATEHOUSE_SERVICE_CONFIG_DURATION_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace gatehouse {

// Parses a configuration duration: a positive integer followed by one unit
// of ms, s, m, h or d ("500ms", "30s", "15m", "36h", "90d"), or a sum of such
// terms ("1h30m"). INVALID_ARGUMENT on anything else, including zero.
absl::StatusOr<absl::Duration> ParseConfigDuration(absl::string_view text);

// Inverse of ParseConfigDuration for display: the largest exact unit.
std::string FormatConfigDuration(absl::Duration d);

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_CONFIG_DURATION_H_
