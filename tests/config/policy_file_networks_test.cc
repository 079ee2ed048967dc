// The policy file's exempt and deny networks and lockout.permanent_after.

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "service/config/policy_file.h"
#include "service/core/policy.h"

namespace gatehouse {
namespace {

using PolicySetOr = absl::StatusOr<std::shared_ptr<const PolicySet>>;

std::string Match(const Policy& p, const std::string& ip) {
  const NetworkMatch m = p.MatchNetwork(ParseIpAddress(ip).value());
  switch (m.reason) {
    case VerdictReason::kExempt:
      return "exempt " + m.entry->prefix.text;
    case VerdictReason::kDenylisted:
      return "deny " + m.entry->prefix.text + " (" + m.entry->reason + ")";
    case VerdictReason::kNone:
      break;
  }
  return "none";
}

TEST(PolicyFileNetworksTest, TopLevelListsApplyToEveryPolicyWithAnIp) {
  PolicySetOr set = ParsePolicyYaml(R"yaml(
exempt: [10.0.0.0/8, "2001:db8::/32", 192.0.2.10]
deny:
  - {cidr: 198.51.100.0/24, reason: "credential stuffing, INC-42"}
policies:
  - name: login_ip
    dimensions: [ip]
    limit: 20
    window: 1m
    exempt: [203.0.113.0/24]
    deny: [{cidr: 10.66.0.0/16, reason: "compromised build farm"}]
  - name: failed_auth_user_ip
    dimensions: [user, ip]
    limit: 5
    window: 15m
  - name: per_user
    dimensions: [user]
    limit: 5
    window: 15m
)yaml",
                                    "policies.yaml");
  ASSERT_TRUE(set.ok()) << set.status();
  const Policy& login = *(*set)->Find("login_ip");
  const Policy& failed = *(*set)->Find("failed_auth_user_ip");
  EXPECT_EQ(Match(login, "10.1.2.3"), "exempt 10.0.0.0/8");
  EXPECT_EQ(Match(login, "2001:db8::7"), "exempt 2001:db8::/32");
  EXPECT_EQ(Match(login, "192.0.2.10"), "exempt 192.0.2.10/32");
  EXPECT_EQ(Match(login, "192.0.2.11"), "none");
  EXPECT_EQ(Match(login, "203.0.113.5"), "exempt 203.0.113.0/24");
  EXPECT_EQ(Match(login, "::ffff:198.51.100.9"),
            "deny 198.51.100.0/24 (credential stuffing, INC-42)");
  // Deny wins over exempt: 10.66.0.0/16 is inside exempt 10.0.0.0/8.
  EXPECT_EQ(Match(login, "10.66.1.1"),
            "deny 10.66.0.0/16 (compromised build farm)");
  // The policy's own lists add to the top-level ones, for it alone.
  EXPECT_EQ(Match(failed, "203.0.113.5"), "none");
  EXPECT_EQ(Match(failed, "10.66.1.1"), "exempt 10.0.0.0/8");
  EXPECT_EQ(Match(failed, "198.51.100.9"),
            "deny 198.51.100.0/24 (credential stuffing, INC-42)");
  // The top-level tables are shared, not copied per policy.
  ASSERT_EQ(login.exempt.size(), 2u);
  ASSERT_EQ(failed.exempt.size(), 1u);
  EXPECT_EQ(login.exempt[1].get(), failed.exempt[0].get());
  EXPECT_FALSE((*set)->Find("per_user")->HasNetworks());
}

TEST(PolicyFileNetworksTest, EmptyListsAreAllowedAndMatchNothing) {
  PolicySetOr set = ParsePolicyYaml(R"yaml(
exempt: []
deny: []
policies:
  - {name: login_ip, dimensions: [ip], limit: 20, window: 1m, exempt: []}
)yaml",
                                    "policies.yaml");
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_FALSE((*set)->Find("login_ip")->HasNetworks());
}

TEST(PolicyFileNetworksTest, PermanentAfterIsParsed) {
  PolicySetOr set = ParsePolicyYaml(R"yaml(
policies:
  - name: login_ip
    dimensions: [ip]
    limit: 20
    window: 1m
    lockout: {duration: 15m, multiplier: 2, max: 24h, permanent_after: 3}
  - name: plain
    dimensions: [ip]
    limit: 20
    window: 1m
    lockout: {duration: 15m}
)yaml",
                                    "policies.yaml");
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ((*set)->Find("login_ip")->lockout->permanent_after, 3u);
  EXPECT_EQ((*set)->Find("plain")->lockout->permanent_after, 0u);
}

struct Rejected {
  std::string case_name;
  std::string yaml;
  std::string want;
};

class PolicyFileNetworksRejectsTest
    : public ::testing::TestWithParam<Rejected> {};

TEST_P(PolicyFileNetworksRejectsTest, IsInvalidArgumentNamingTheField) {
  PolicySetOr set = ParsePolicyYaml(GetParam().yaml, "policies.yaml");
  ASSERT_FALSE(set.ok()) << "accepted:\n" << GetParam().yaml;
  EXPECT_EQ(set.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(set.status().message(), "policies.yaml: " + GetParam().want);
}

// Two valid policies, then a third named "bad" with `fields` added.
Rejected Third(std::string name, std::string fields, std::string want) {
  return {std::move(name), R"yaml(
policies:
  - {name: a, dimensions: [ip], limit: 1, window: 1m}
  - {name: b, dimensions: [ip], limit: 1, window: 1m}
  - name: bad
    limit: 1
    window: 1m
)yaml" + fields,
          std::move(want)};
}

Rejected TopLevel(std::string name, std::string fields, std::string want) {
  return {std::move(name), fields + R"yaml(
policies:
  - {name: a, dimensions: [ip], limit: 1, window: 1m}
)yaml",
          std::move(want)};
}

INSTANTIATE_TEST_SUITE_P(
    Networks, PolicyFileNetworksRejectsTest,
    ::testing::Values(
        Third("BadExemptPrefix",
              "    dimensions: [ip]\n"
              "    exempt: [10.0.0.0/8, \"10.0.0.300/8\"]\n",
              "policies[2] (bad).exempt[1]: \"10.0.0.300/8\" is not an IPv4 "
              "or IPv6 prefix"),
        Third("ExemptHostBits",
              "    dimensions: [ip]\n"
              "    exempt: [10.0.0.1/8]\n",
              "policies[2] (bad).exempt[0]: \"10.0.0.1/8\" has host bits set "
              "(the network is 10.0.0.0/8)"),
        Third("ExemptRepeated",
              "    dimensions: [ip]\n"
              "    exempt: [\"2001:db8::/32\", \"2001:DB8:0::/32\"]\n",
              "policies[2] (bad).exempt[1]: 2001:db8::/32 repeats "
              "policies[2] (bad).exempt[0]"),
        Third("ExemptNotAList",
              "    dimensions: [ip]\n"
              "    exempt: 10.0.0.0/8\n",
              "policies[2] (bad).exempt: must be a list of networks, e.g. "
              "[10.0.0.0/8, \"2001:db8::/32\"]"),
        Third("ExemptEntryNotAString",
              "    dimensions: [ip]\n"
              "    exempt: [{cidr: 10.0.0.0/8}]\n",
              "policies[2] (bad).exempt[0]: must be a network such as "
              "10.0.0.0/8"),
        Third("ExemptWithoutIpDimension",
              "    dimensions: [user]\n"
              "    exempt: [10.0.0.0/8]\n",
              "policies[2] (bad).exempt: needs an ip dimension, whose value "
              "it matches"),
        Third("DenyWithoutIpDimension",
              "    dimensions: [client_ip]\n"
              "    deny: [{cidr: 10.0.0.0/8, reason: x}]\n",
              "policies[2] (bad).deny: needs an ip dimension, whose value it "
              "matches"),
        Third("DenyBadCidr",
              "    dimensions: [ip]\n"
              "    deny: [{cidr: 198.51.100.0/24, reason: a},\n"
              "           {cidr: 198.51.100.0/33, reason: b}]\n",
              "policies[2] (bad).deny[1].cidr: \"198.51.100.0/33\" is not an "
              "IPv4 or IPv6 prefix"),
        Third("DenyMissingCidr",
              "    dimensions: [ip]\n"
              "    deny: [{reason: a}]\n",
              "policies[2] (bad).deny[0].cidr: required: a network such as "
              "198.51.100.0/24"),
        Third("DenyMissingReason",
              "    dimensions: [ip]\n"
              "    deny: [{cidr: 198.51.100.0/24}]\n",
              "policies[2] (bad).deny[0].reason: required: why the network "
              "is denied"),
        Third("DenyReasonTooLong",
              "    dimensions: [ip]\n"
              "    deny: [{cidr: 198.51.100.0/24, reason: " +
                  std::string(257, 'x') + "}]\n",
              "policies[2] (bad).deny[0].reason: must be at most 256 bytes "
              "of UTF-8 without control characters"),
        Third("DenyUnknownField",
              "    dimensions: [ip]\n"
              "    deny: [{cidr: 198.51.100.0/24, reason: a, until: 1h}]\n",
              "policies[2] (bad).deny[0]: unknown field \"until\""),
        Third("DenyEntryNotAMap",
              "    dimensions: [ip]\n"
              "    deny: [198.51.100.0/24]\n",
              "policies[2] (bad).deny[0]: must be a map {cidr, reason}"),
        Third("DenyRepeated",
              "    dimensions: [ip]\n"
              "    deny: [{cidr: 198.51.100.0/24, reason: a},\n"
              "           {cidr: \"::ffff:198.51.100.0/120\", reason: b}]\n",
              "policies[2] (bad).deny[1].cidr: 198.51.100.0/24 repeats "
              "policies[2] (bad).deny[0]"),
        TopLevel("TopLevelBadExempt", "exempt: [10.0.0.0/8, 300.0.0.0/8]\n",
                 "exempt[1]: \"300.0.0.0/8\" is not an IPv4 or IPv6 prefix"),
        TopLevel("TopLevelDenyHostBits",
                 "deny: [{cidr: \"2001:db8::1/64\", reason: a}]\n",
                 "deny[0].cidr: \"2001:db8::1/64\" has host bits set (the "
                 "network is 2001:db8::/64)"),
        Third("PermanentAfterZero",
              "    dimensions: [ip]\n"
              "    lockout: {duration: 1m, permanent_after: 0}\n",
              "policies[2] (bad).lockout.permanent_after: must be an integer "
              "from 1 to 1000000 (offences)"),
        Third("PermanentAfterNotANumber",
              "    dimensions: [ip]\n"
              "    lockout: {duration: 1m, permanent_after: often}\n",
              "policies[2] (bad).lockout.permanent_after: must be an integer "
              "from 1 to 1000000 (offences)"),
        Third("PermanentAfterWithoutLockout",
              "    dimensions: [ip]\n"
              "    permanent_after: 3\n",
              "policies[2] (bad): unknown field \"permanent_after\""),
        Third("PermanentAfterWithoutDuration",
              "    dimensions: [ip]\n"
              "    lockout: {permanent_after: 3}\n",
              "policies[2] (bad).lockout.duration: required")),
    [](const ::testing::TestParamInfo<Rejected>& info) {
      return info.param.case_name;
    });

}  // namespace
}  // namespace gatehouse
