#ifndef GATEHOUSE_SERVICE_CORE_SUBJECT_KEY_H_
#define GATEHOUSE_SERVICE_CORE_SUBJECT_KEY_H_

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "service/core/policy.h"
#include "service/core/pseudonymizer.h"
#include "service/core/request.h"

namespace gatehouse {

// Every counter key starts with this byte; other record kinds kept in the
// same store (audit log, metadata) start with others.
inline constexpr char kCounterKeyPrefix = 'c';

inline bool IsCounterKey(absl::string_view key) {
  return !key.empty() && key[0] == kCounterKeyPrefix;
}

// The one place a storage key is derived from a policy and a subject's
// dimension values. Nothing else builds key prefixes.
//
// Values are validated (non-empty, at most kMaxDimensionValueBytes, valid
// UTF-8, no control characters: rejected, never silently rewritten) and
// canonicalised: dimensions named "ip" or ending in "_ip" must parse as IP
// addresses and are rewritten to their canonical text (IPv4-mapped IPv6 folded
// to IPv4, IPv6 compressed and lower-cased). Parts are emitted in the policy's
// canonical (sorted) dimension order, each length-prefixed, so distinct inputs
// never collide.
//
// Values of personal dimensions are replaced by their pseudonym before they
// go into the key, so no raw email or user name reaches storage; IP values
// are truncated to the policy's prefix ("203.0.113.0/24") when it sets one.
//
// Errors are INVALID_ARGUMENT naming `field` (e.g. "subjects[2].key"); they
// never echo a value, which may be personal data.
struct KeyOptions {
  // Null keeps personal values raw: only for tests and tools.
  const Pseudonymizer* pseudonymizer = nullptr;
  const std::set<std::string>* personal_dimensions = nullptr;
  // Dimension -> how errors name its value; absent (or null): `field`
  // followed by ["dim"].
  const std::map<std::string, std::string>* value_fields = nullptr;
};

struct DerivedKey {
  std::string storage_key;
  // Dimension -> value as stored (canonical IP, pseudonym), in canonical
  // order: what audit events and logs may show.
  std::vector<std::pair<std::string, std::string>> stored_values;
};

absl::StatusOr<DerivedKey> DeriveSubjectKey(
    const Policy& policy, const std::map<std::string, std::string>& key,
    absl::string_view field, const KeyOptions& options);

// DeriveSubjectKey without pseudonymisation, storage key only.
absl::StatusOr<std::string> DeriveStorageKey(
    const Policy& policy, const std::map<std::string, std::string>& key,
    absl::string_view field);

// Canonical text of `ip` truncated to the given prefix lengths; full-length
// prefixes give the plain address, shorter ones "address/len".
absl::StatusOr<std::string> CanonicalizeIpPrefix(absl::string_view ip,
                                                 int ipv4_prefix,
                                                 int ipv6_prefix);

// Canonical text of an IP address, or INVALID_ARGUMENT.
absl::StatusOr<std::string> CanonicalizeIp(absl::string_view ip);

// True for dimension names treated as IP addresses.
bool IsIpDimension(absl::string_view name);

// True when `s` is valid UTF-8 without control characters (C0, DEL, C1).
bool IsCleanUtf8(absl::string_view s);

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_CORE_SUBJECT_KEY_H_
