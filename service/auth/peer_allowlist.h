#ifndef GATEHOUSE_SERVICE_AUTH_PEER_ALLOWLIST_H_
#define GATEHOUSE_SERVICE_AUTH_PEER_ALLOWLIST_H_

#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace gatehouse {

// The client certificate identities (subject alternative names: DNS names,
// URIs such as SPIFFE ids, e-mail addresses) admitted under mTLS. Exact
// matches only: wildcards are refused when the list is built, so a
// certificate for "*.example.com" or an entry "*" can never widen access.
//
// Immutable; thread-safe.
class PeerAllowlist {
 public:
  // INVALID_ARGUMENT naming the entry when one is empty or has a wildcard.
  static absl::StatusOr<PeerAllowlist> Create(
      const std::vector<std::string>& identities);

  // Whether any of the peer's identities is on the list. A certificate
  // identity containing a wildcard never matches.
  bool Allows(const std::vector<std::string>& peer_identities) const;

  const std::set<std::string>& identities() const { return identities_; }

 private:
  explicit PeerAllowlist(std::set<std::string> identities)
      : identities_(std::move(identities)) {}

  std::set<std::string> identities_;
};

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_AUTH_PEER_ALLOWLIST_H_
