#include "service/server/config_reloader.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "service/clock/real_clock.h"
#include "service/config/policy_file.h"
#include "service/logging/json_log.h"

namespace gatehouse {
namespace {

// Personal dimensions need a pseudonym key; checked at start-up and reload.
absl::Status CheckPseudonymization(const PolicySet& policies,
                                   const Pseudonymizer* pseudonymizer) {
  if (!policies.personal_dimensions().empty() && pseudonymizer == nullptr) {
    return absl::InvalidArgumentError(
        "--pseudonym_key_file: required while the policy file has "
        "personal_dimensions (default [user, email]; set [] to disable)");
  }
  return absl::OkStatus();
}

}  // namespace

void CountReload(metrics::GatehouseMetrics& m, const char* kind, bool ok) {
  using metrics::GatehouseMetrics;
  m.config_reloads_total
      .WithLabels({kind, ok ? GatehouseMetrics::kResultSuccess
                            : GatehouseMetrics::kResultFailure})
      .Increment();
  if (ok) {
    m.config_last_reload_success_timestamp_seconds.WithLabels({kind}).Set(
        absl::ToDoubleSeconds(RealClock::Get()->Now() - absl::UnixEpoch()));
  }
}

void LogConfigWarnings(const Credentials& credentials,
                       const PolicySet& policies, const std::string& file) {
  for (const std::string& warning : credentials.Warnings(policies)) {
    LogJson(spdlog::level::warn, "credentials file warning",
            {{"file", file}, {"warning", warning}});
  }
}

ConfigReloader::ConfigReloader(std::string policies_path,
                               std::string credentials_path,
                               const Pseudonymizer* pseudonymizer)
    : policies_(std::move(policies_path), kMaxPolicyFileBytes, "policy file"),
      credentials_(credentials_path, kMaxCredentialsFileBytes,
                   "credentials file"),
      has_credentials_(!credentials_path.empty()),
      pseudonymizer_(pseudonymizer) {}

absl::StatusOr<std::shared_ptr<const PolicySet>> ConfigReloader::ParsePolicies(
    const absl::StatusOr<std::string>& text) const {
  if (!text.ok()) return text.status();
  absl::StatusOr<std::shared_ptr<const PolicySet>> policies =
      ParsePolicyYaml(*text, policies_.path());
  if (!policies.ok()) return policies.status();
  if (absl::Status s = CheckPseudonymization(**policies, pseudonymizer_);
      !s.ok()) {
    return s;
  }
  return policies;
}

absl::StatusOr<ConfigReloader::Loaded> ConfigReloader::LoadInitial() {
  Loaded loaded;
  loaded.changed = true;
  absl::StatusOr<std::shared_ptr<const PolicySet>> policies =
      ParsePolicies(*policies_.ReadIfChanged());
  if (!policies.ok()) return policies.status();
  loaded.policies = *std::move(policies);
  if (has_credentials_) {
    absl::StatusOr<std::string> text = *credentials_.ReadIfChanged();
    if (!text.ok()) return text.status();
    absl::StatusOr<std::shared_ptr<const Credentials>> credentials =
        Credentials::Parse(*text, credentials_.path());
    if (!credentials.ok()) return credentials.status();
    loaded.credentials = *std::move(credentials);
  }
  return loaded;
}

ConfigReloader::Loaded ConfigReloader::Reload(metrics::GatehouseMetrics& m) {
  Loaded loaded;
  if (std::optional<absl::StatusOr<std::string>> text =
          policies_.ReadIfChanged()) {
    loaded.changed = true;
    absl::StatusOr<std::shared_ptr<const PolicySet>> policies =
        ParsePolicies(*text);
    CountReload(m, metrics::GatehouseMetrics::kKindPolicies, policies.ok());
    if (policies.ok()) {
      loaded.policies = *std::move(policies);
      LogJson(
          spdlog::level::info, "policies reloaded",
          {{"file", policies_.path()},
           {"policies", static_cast<uint64_t>(loaded.policies->all().size())}});
    } else {
      LogJson(spdlog::level::err,
              "policy reload rejected; keeping the old ones",
              {{"file", policies_.path()},
               {"error", policies.status().ToString()}});
    }
  }
  if (!has_credentials_) return loaded;
  if (std::optional<absl::StatusOr<std::string>> text =
          credentials_.ReadIfChanged()) {
    loaded.changed = true;
    absl::StatusOr<std::shared_ptr<const Credentials>> credentials =
        text->ok() ? Credentials::Parse(**text, credentials_.path())
                   : text->status();
    CountReload(m, metrics::GatehouseMetrics::kKindCredentials,
                credentials.ok());
    if (credentials.ok()) {
      loaded.credentials = *std::move(credentials);
      LogJson(spdlog::level::info, "credentials reloaded",
              {{"file", credentials_.path()},
               {"clients",
                static_cast<uint64_t>(loaded.credentials->clients().size())}});
    } else {
      LogJson(spdlog::level::err,
              "credentials reload rejected; keeping the old ones",
              {{"file", credentials_.path()},
               {"error", credentials.status().ToString()}});
    }
  }
  return loaded;
}

}  // namespace gatehouse
