#ifndef GATEHOUSE_SERVICE_CORE_ENVOY_MAPPING_H_
#define GATEHOUSE_SERVICE_CORE_ENVOY_MAPPING_H_

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"

namespace gatehouse {

// One entry of the descriptor an Envoy route sends, as a policy maps it:
// the entry's key, and either the value it must have or the policy
// dimension its value becomes.
struct EnvoyEntryMapping {
  std::string key;
  // Set: the entry must carry exactly this value.
  std::optional<std::string> value;
  // Otherwise: the dimension that takes the entry's value.
  std::string dimension;
};

// How Envoy's rate limit API (envoy.service.ratelimit.v3) reaches a policy:
// a request descriptor of `domain` whose entries have these keys, in this
// order, with the fixed values equal, is a subject of the policy.
struct EnvoyMapping {
  std::string domain;
  std::vector<EnvoyEntryMapping> entries;
};

// A descriptor as Envoy sends it: (key, value) entries in order.
using EnvoyEntries = std::vector<std::pair<std::string, std::string>>;

// What a descriptor matched: the policy and the subject key it names.
struct EnvoyMatch {
  std::string policy;
  std::map<std::string, std::string> key;
  // For each dimension of `key`, the index of the entry that gave it (to
  // name a bad value by its place in the request).
  std::map<std::string, size_t> entry_of;
};

// The policies mapped for Envoy, by domain and entry keys. Immutable once
// built; thread-safe.
class EnvoyIndex {
 public:
  EnvoyIndex() = default;
  // `mappings`: (policy name, mapping). REQUIRES: CheckEnvoyMappings() is
  // OK for them (no descriptor matches two policies).
  explicit EnvoyIndex(
      const std::vector<std::pair<std::string, EnvoyMapping>>& mappings);

  // The policy `entries` of `domain` match, with its subject key; nullopt
  // when none does.
  std::optional<EnvoyMatch> Find(std::string_view domain,
                                 const EnvoyEntries& entries) const;
  bool empty() const { return by_shape_.empty(); }
  // Whether some policy is mapped for `domain`.
  bool HasDomain(std::string_view domain) const;

 private:
  // Domain and entry keys, each followed by a 0 byte.
  static std::string ShapeOf(std::string_view domain,
                             const std::vector<std::string_view>& keys);

  std::map<std::string, std::vector<std::pair<std::string, EnvoyMapping>>,
           std::less<>>
      by_shape_;
  // The domains some policy is mapped for.
  std::set<std::string, std::less<>> domains_;
};

// INVALID_ARGUMENT naming both policies when one descriptor could match two
// mappings (the same domain and keys, and at every entry equal fixed values
// or a dimension on either side). `where` names each mapping in messages
// (e.g. "policies[3] (signup_ip).envoy"), parallel to `mappings`.
absl::Status CheckEnvoyMappings(
    const std::vector<std::pair<std::string, EnvoyMapping>>& mappings,
    const std::vector<std::string>& where);

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_CORE_ENVOY_MAPPING_H_
