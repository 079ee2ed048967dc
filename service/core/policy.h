#ifndef GATEHOUSE_SERVICE_CORE_POLICY_H_
#define GATEHOUSE_SERVICE_CORE_POLICY_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "service/core/envoy_mapping.h"
#include "service/core/ip_prefix_table.h"
#include "service/core/verdict.h"

namespace gatehouse {

enum class PolicyMode { kEnforce, kShadow };

// Escalating lockout once a subject hits its ceiling, as Keycloak and
// fail2ban do for repeat offenders: the n-th offence within `forget_after`
// of the previous one locks for min(max, duration * multiplier^(n-1)).
struct LockoutSpec {
  absl::Duration duration;
  double multiplier = 1.0;
  absl::Duration max;
  // An offence this long after the previous one counts as the first again.
  absl::Duration forget_after = absl::Hours(24);
  // The offence (counted as above) from which a lockout lasts until an
  // operator lifts it (Reset); 0 = never. Keycloak's permanent lockout.
  uint32_t permanent_after = 0;

  // Lockout length of the `offence`-th offence (1-based).
  absl::Duration LengthOf(uint32_t offence) const;
};

// The dimension whose value exempt and deny networks are matched against.
inline constexpr char kIpDimension[] = "ip";

// What the exempt and deny networks say about one address.
struct NetworkMatch {
  VerdictReason reason = VerdictReason::kNone;
  // The matching entry (kExempt, kDenylisted); null for kNone.
  const IpPrefixTable::Entry* entry = nullptr;
};

// One configured limit. A value type; immutable once in a PolicySet.
struct Policy {
  std::string name;
  // Sorted, unique dimension names: the canonical order of key parts.
  std::vector<std::string> dimensions;
  uint64_t limit = 0;
  absl::Duration window;
  // Number of sub-window buckets the window is split into; bounds memory per
  // key and sets the granularity of retry_after (window / buckets).
  int buckets = 60;
  std::optional<LockoutSpec> lockout;
  PolicyMode mode = PolicyMode::kEnforce;
  // IP dimensions are truncated to these prefix lengths before counting and
  // storing (32 / 128 keep the full address).
  int ipv4_prefix = 32;
  int ipv6_prefix = 128;
  // How Envoy's rate limit API reaches this policy; unset: it does not.
  std::optional<EnvoyMapping> envoy;
  // Networks of the `ip` dimension (only a policy with one has them):
  // addresses in `exempt` are never counted nor denied, those in `deny`
  // always denied; deny wins. Each list is the policy's own table, then the
  // policy file's top-level one (shared by every policy); either may be
  // absent.
  std::vector<std::shared_ptr<const IpPrefixTable>> exempt;
  std::vector<std::shared_ptr<const IpPrefixTable>> deny;

  // Looks `address` up in deny, then in exempt; within a list, the first
  // table that matches wins (the policy's own entry before the top-level
  // one), and within a table the longest prefix.
  NetworkMatch MatchNetwork(IpAddress address) const;
  bool HasNetworks() const { return !exempt.empty() || !deny.empty(); }
  // Width of one bucket in milliseconds: window / buckets rounded up, at
  // least 1.
  int64_t BucketMillis() const;
  int64_t WindowMillis() const;
};

// An immutable, validated set of policies, shared by readers while a newer
// set may replace it. Thread-safe because it never changes.
class PolicySet {
 public:
  // Dimensions whose values identify a person, when the file says nothing.
  static const std::set<std::string>& DefaultPersonalDimensions();

  explicit PolicySet(
      std::vector<Policy> policies,
      std::set<std::string> personal_dimensions = DefaultPersonalDimensions());

  // Returns nullptr when no policy has that name.
  const Policy* Find(const std::string& name) const;
  const std::map<std::string, Policy>& all() const { return policies_; }
  // Values of these dimensions are pseudonymised before they are stored,
  // logged or audited.
  const std::set<std::string>& personal_dimensions() const {
    return personal_dimensions_;
  }
  // The policies with an `envoy` mapping.
  const EnvoyIndex& envoy() const { return envoy_; }

 private:
  std::map<std::string, Policy> policies_;
  std::set<std::string> personal_dimensions_;
  EnvoyIndex envoy_;
};

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_CORE_POLICY_H_
