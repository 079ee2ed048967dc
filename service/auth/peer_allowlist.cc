#include "service/auth/peer_allowlist.h"

#include "absl/strings/str_cat.h"

namespace gatehouse {

absl::StatusOr<PeerAllowlist> PeerAllowlist::Create(
    const std::vector<std::string>& identities) {
  std::set<std::string> out;
  for (size_t i = 0; i < identities.size(); ++i) {
    const std::string& id = identities[i];
    if (id.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--tls_client_allowlist: entry ", i + 1, " is empty"));
    }
    if (id.find('*') != std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--tls_client_allowlist: \"", id,
          "\": wildcards are not accepted; list each identity exactly"));
    }
    out.insert(id);
  }
  if (out.empty()) {
    return absl::InvalidArgumentError(
        "--tls_client_allowlist: at least one identity is required");
  }
  return PeerAllowlist(std::move(out));
}

bool PeerAllowlist::Allows(
    const std::vector<std::string>& peer_identities) const {
  for (const std::string& id : peer_identities) {
    if (id.find('*') == std::string::npos && identities_.count(id) > 0) {
      return true;
    }
  }
  return false;
}

}  // namespace gatehouse
