#ifndef GATEHOUSE_SERVICE_CONFIG_CONFIG_FILE_H_
#define GATEHOUSE_SERVICE_CONFIG_CONFIG_FILE_H_

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace gatehouse {

// The largest policy and credentials files accepted. Parsing YAML takes
// about 75 bytes of memory per byte of text, so these bound what a load or
// reload can take (~150 MiB for a policy file) below the chart's 512 MiB.
inline constexpr size_t kMaxPolicyFileBytes = 2 << 20;
inline constexpr size_t kMaxCredentialsFileBytes = 1 << 20;

// The contents of the configuration file at `path`, read without ever
// holding more than `max_bytes` + 64 KiB of it. `what` names the file in errors
// ("policy file"). NOT_FOUND when it cannot be opened; INVALID_ARGUMENT
// when it is larger than `max_bytes` (`p.yaml: policy file is over 2 MiB`).
absl::StatusOr<std::string> ReadConfigFile(const std::string& path,
                                           size_t max_bytes,
                                           absl::string_view what);

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_CONFIG_CONFIG_FILE_H_
