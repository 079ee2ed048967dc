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
//   personal_dimensions: [user, email] # optional; this is the default, [] =
//   none policies:
//     - name: failed_auth_user_ip     # [a-z0-9_], unique, at most 64 bytes
//       dimensions: [user, ip]        # 1..8 unique names, [a-z0-9_]
//       limit: 5                      # 1..1e9
//       window: 15m                   # any duration, 1s .. 400d
//       buckets: 60                   # optional, 1..3600 (default 60)
//       lockout: {duration: 15m, multiplier: 2, max: 24h, forget_after: 24h}
//       mode: enforce                 # or shadow
//       ip_prefix: {ipv4: 24, ipv6: 64}  # optional: count per network
//       envoy:                        # optional: reached by Envoy's RLS v3
//         domain: edge
//         descriptor:                 # the route's entries, in order
//           - {key: generic_key, value: login}   # must have this value
//           - {key: remote_address, dimension: ip}  # value -> dimension
//
// Every dimension is mapped by exactly one entry; two policies whose
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
