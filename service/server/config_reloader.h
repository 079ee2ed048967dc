#ifndef GATEHOUSE_SERVICE_SERVER_CONFIG_RELOADER_H_
#define GATEHOUSE_SERVICE_SERVER_CONFIG_RELOADER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "service/auth/credentials.h"
#include "service/config/config_file.h"
#include "service/core/policy.h"
#include "service/core/pseudonymizer.h"
#include "service/metrics/gatehouse_metrics.h"

namespace gatehouse {

// The policy file and the (optional) credentials file, read and parsed.
// Every read after the first hands out only what changed since the file
// was last read (ConfigSource), so one edit is parsed once whoever notices
// it (SIGHUP or the watcher). Not thread-safe: the server reloads one at a
// time.
class ConfigReloader {
 public:
  // An empty `credentials_path` means no credentials file. The
  // pseudonymizer (may be null) must outlive the reloader.
  ConfigReloader(std::string policies_path, std::string credentials_path,
                 const Pseudonymizer* pseudonymizer);

  struct Loaded {
    // Each null when its file did not change, or was rejected (a reload
    // logs and counts that and keeps what is in force).
    std::shared_ptr<const PolicySet> policies;
    std::shared_ptr<const Credentials> credentials;
    // Whether any file changed since it was last read.
    bool changed = false;
  };

  // The first read, at start-up: both files must load. NOT_FOUND or
  // INVALID_ARGUMENT naming the file (and policy and field).
  absl::StatusOr<Loaded> LoadInitial();

  // Rereads the files; a changed one is parsed, and its outcome counted in
  // `m.config_reloads_total` and logged.
  Loaded Reload(metrics::GatehouseMetrics& m);

  const std::string& credentials_path() const { return credentials_.path(); }

 private:
  absl::StatusOr<std::shared_ptr<const PolicySet>> ParsePolicies(
      const absl::StatusOr<std::string>& text) const;

  ConfigSource policies_;
  ConfigSource credentials_;
  const bool has_credentials_;
  const Pseudonymizer* const pseudonymizer_;
};

// Counts a load of `kind` (GatehouseMetrics::kKindPolicies or
// kKindCredentials) and, on success, its time.
void CountReload(metrics::GatehouseMetrics& m, const char* kind, bool ok);

// Logs what `credentials` say against `policies` (Credentials::Warnings).
void LogConfigWarnings(const Credentials& credentials,
                       const PolicySet& policies, const std::string& file);

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_SERVER_CONFIG_RELOADER_H_
