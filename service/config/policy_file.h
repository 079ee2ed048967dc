#ifndef GATEHOUSE_SERVICE_CONFIG_POLICY_FILE_H_
#define GATEHOUSE_SERVICE_CONFIG_POLICY_FILE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "service/core/policy.h"

namespace gatehouse {

// Parses and validates a policy file's YAML text:
//
//   personal_dimensions: [user, email]  # optional, the default; [] = none
//   exempt: [10.0.0.0/8]              # optional, for every policy with an
//   deny: [{cidr: 198.51.100.0/24, reason: "..."}]  # ip dimension
//   policies:
//     - name: failed_auth_user_ip     # [a-z0-9_], unique, at most 64 bytes
//       dimensions: [user, ip]        # 1..8 unique names, [a-z0-9_]
//       limit: 5                      # 1..1e9
//       window: 15m                   # any duration, 1s .. 400d
//       buckets: 60                   # optional, 1..3600 (default 60)
//       lockout: {duration: 15m, multiplier: 2, max: 24h, forget_after: 24h,
//                 permanent_after: 5}  # optional: locks until Reset
//       mode: enforce                 # or shadow
//       ip_prefix: {ipv4: 24, ipv6: 64}  # optional: count per network
//       exempt: [...]                 # optional (ip dimension): added to the
//       deny: [...]                   # top-level lists
//       envoy:                        # optional: reached by Envoy's RLS v3
//         domain: edge
//         descriptor:                 # the route's entries, in order
//           - {key: generic_key, value: login}   # must have this value
//           - {key: remote_address, dimension: ip}  # value -> dimension
//
// A network is "address/length" or a bare address, without host bits set;
// `exempt[1]: "10.0.0.300/8" is not an IPv4 or IPv6 prefix`. Every
// dimension is mapped by exactly one Envoy entry; two policies whose
// mappings one descriptor could match are an error.
//
// Unknown fields are errors, so a typo never silently disables a limit.
// INVALID_ARGUMENT naming the policy and field (e.g.
// `policies[1] (failed_auth_user_ip).window: "15x" is not a duration`).
// `source` names the file in messages.
absl::StatusOr<std::shared_ptr<const PolicySet>> ParsePolicyYaml(
    absl::string_view yaml, absl::string_view source);

// Reads `path` and parses it as above. NOT_FOUND when the file is missing.
absl::StatusOr<std::shared_ptr<const PolicySet>> LoadPolicyFile(
    const std::string& path);

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_CONFIG_POLICY_FILE_H_
