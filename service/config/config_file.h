#ifndef GATEHOUSE_SERVICE_CONFIG_CONFIG_FILE_H_
#define GATEHOUSE_SERVICE_CONFIG_CONFIG_FILE_H_

#include <cstddef>
#include <optional>
#include <string>
#include <utility>

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

// A configuration file watched for changes: SIGHUP and the periodic watcher
// both ask it, and only a change since the last read is handed out, so one
// edit is parsed once whoever notices it first, and a file that stays broken
// is not parsed again and again. Contents are compared, not mtimes:
// Kubernetes updates a mounted ConfigMap by swapping a symlink, which keeps
// the old file's mtime. Not thread-safe.
class ConfigSource {
 public:
  // `max_bytes` and `what` as for ReadConfigFile.
  ConfigSource(std::string path, size_t max_bytes, std::string what)
      : path_(std::move(path)), max_bytes_(max_bytes), what_(std::move(what)) {}

  // Reads the file (bounded, as ReadConfigFile). Returns its contents, or
  // the error reading it, when they differ from what the previous call saw
  // (always on the first call); nullopt when nothing changed.
  std::optional<absl::StatusOr<std::string>> ReadIfChanged();

  const std::string& path() const { return path_; }

 private:
  const std::string path_;
  const size_t max_bytes_;
  const std::string what_;
  // What the previous call read; nullopt before the first.
  std::optional<absl::StatusOr<std::string>> last_;
};

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_CONFIG_CONFIG_FILE_H_
