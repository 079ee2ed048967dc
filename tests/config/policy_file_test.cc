#include "service/config/policy_file.h"

#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "service/config/config_file.h"
#include "service/core/policy.h"
#include "tests/testing/temp_dir.h"

namespace gatehouse {
namespace {

using PolicySetOr = absl::StatusOr<std::shared_ptr<const PolicySet>>;

// The policy, or a test failure and nullptr.
const Policy* Find(const PolicySet& set, const std::string& name) {
  const Policy* p = set.Find(name);
  EXPECT_NE(p, nullptr) << "no policy " << name;
  return p;
}

TEST(ParsePolicyYamlTest, ParsesEveryField) {
  PolicySetOr set = ParsePolicyYaml(R"yaml(
policies:
  - name: failed_auth_user_ip
    description: Consecutive failures per user and IP.
    dimensions: [user, ip]
    limit: 5
    window: 1h30m
    buckets: 90
    lockout:
      duration: 15m
      multiplier: 2.5
      max: 24h
      forget_after: 36h
    mode: shadow
)yaml",
                                    "all.yaml");
  ASSERT_TRUE(set.ok()) << set.status();
  ASSERT_EQ((*set)->all().size(), 1u);
  const Policy* p = Find(**set, "failed_auth_user_ip");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->name, "failed_auth_user_ip");
  // Dimensions are kept in canonical (sorted) order.
  EXPECT_EQ(p->dimensions, (std::vector<std::string>{"ip", "user"}));
  EXPECT_EQ(p->limit, 5u);
  EXPECT_EQ(p->window, absl::Minutes(90));
  EXPECT_EQ(p->buckets, 90);
  EXPECT_EQ(p->BucketMillis(), 60'000);
  ASSERT_TRUE(p->lockout.has_value());
  EXPECT_EQ(p->lockout->duration, absl::Minutes(15));
  EXPECT_DOUBLE_EQ(p->lockout->multiplier, 2.5);
  EXPECT_EQ(p->lockout->max, absl::Hours(24));
  EXPECT_EQ(p->lockout->forget_after, absl::Hours(36));
  EXPECT_EQ(p->mode, PolicyMode::kShadow);
}

TEST(ParsePolicyYamlTest, OptionalFieldsTakeTheirDefaults) {
  PolicySetOr set = ParsePolicyYaml(R"yaml(
policies:
  - name: plain
    dimensions: [ip]
    limit: 1
    window: 1s
  - name: short_lockout
    dimensions: [user]
    limit: 1000000000
    window: 400d
    lockout: {duration: 10m}
)yaml",
                                    "defaults.yaml");
  ASSERT_TRUE(set.ok()) << set.status();
  const Policy* plain = Find(**set, "plain");
  ASSERT_NE(plain, nullptr);
  EXPECT_EQ(plain->buckets, 60);
  EXPECT_EQ(plain->mode, PolicyMode::kEnforce);
  EXPECT_FALSE(plain->lockout.has_value());

  const Policy* lockout = Find(**set, "short_lockout");
  ASSERT_NE(lockout, nullptr);
  EXPECT_EQ(lockout->limit, 1'000'000'000u);
  EXPECT_EQ(lockout->window, absl::Hours(24 * 400));
  ASSERT_TRUE(lockout->lockout.has_value());
  EXPECT_EQ(lockout->lockout->duration, absl::Minutes(10));
  EXPECT_DOUBLE_EQ(lockout->lockout->multiplier, 1.0);
  EXPECT_EQ(lockout->lockout->max, absl::Minutes(10));
  EXPECT_EQ(lockout->lockout->forget_after, absl::Hours(24));
}

TEST(ParsePolicyYamlTest, AcceptsNamesOfUpToSixtyFourCharacters) {
  const std::string name(64, 'n');
  PolicySetOr set =
      ParsePolicyYaml("policies:\n  - name: " + name + "\n    dimensions: [" +
                          name + "]\n    limit: 5\n    window: 1m\n",
                      "long.yaml");
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_NE((*set)->Find(name), nullptr);
}

TEST(ParsePolicyYamlTest, PersonalDimensionsDefaultToUserAndEmail) {
  PolicySetOr set = ParsePolicyYaml(
      "policies:\n  - name: a\n    dimensions: [user]\n    limit: 1\n"
      "    window: 1m\n",
      "default.yaml");
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ((*set)->personal_dimensions(),
            (std::set<std::string>{"email", "user"}));
}

TEST(ParsePolicyYamlTest, EmptyPersonalDimensionsListMeansNone) {
  PolicySetOr set = ParsePolicyYaml(
      "personal_dimensions: []\n"
      "policies:\n  - name: a\n    dimensions: [user]\n    limit: 1\n"
      "    window: 1m\n",
      "none.yaml");
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_TRUE((*set)->personal_dimensions().empty());
}

TEST(ParsePolicyYamlTest, PersonalDimensionsReplaceTheDefault) {
  PolicySetOr set = ParsePolicyYaml(R"yaml(
personal_dimensions:
  - account_id
  - user
  - account_id
policies:
  - name: a
    dimensions: [user]
    limit: 1
    window: 1m
)yaml",
                                    "listed.yaml");
  ASSERT_TRUE(set.ok()) << set.status();
  // Duplicates fold; email is personal no more.
  EXPECT_EQ((*set)->personal_dimensions(),
            (std::set<std::string>{"account_id", "user"}));
}

TEST(ParsePolicyYamlTest, IpPrefixSetsBothFamiliesAndDefaultsToFullLength) {
  PolicySetOr set = ParsePolicyYaml(R"yaml(
policies:
  - name: both
    dimensions: [ip]
    limit: 1
    window: 1m
    ip_prefix: {ipv4: 24, ipv6: 64}
  - name: v4_only
    dimensions: [ip]
    limit: 1
    window: 1m
    ip_prefix:
      ipv4: 16
  - name: extremes
    dimensions: [ip]
    limit: 1
    window: 1m
    ip_prefix: {ipv4: 0, ipv6: 128}
  - name: plain
    dimensions: [ip]
    limit: 1
    window: 1m
)yaml",
                                    "prefix.yaml");
  ASSERT_TRUE(set.ok()) << set.status();
  struct Want {
    std::string name;
    int ipv4;
    int ipv6;
  };
  for (const Want& want : std::vector<Want>{{"both", 24, 64},
                                            {"v4_only", 16, 128},
                                            {"extremes", 0, 128},
                                            {"plain", 32, 128}}) {
    const Policy* p = Find(**set, want.name);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(p->ipv4_prefix, want.ipv4) << want.name;
    EXPECT_EQ(p->ipv6_prefix, want.ipv6) << want.name;
  }
}

// A policy file that must be rejected, and what the message must contain.
struct Rejected {
  std::string case_name;
  std::string yaml;
  std::string want;
};

class ParsePolicyYamlRejectsTest : public ::testing::TestWithParam<Rejected> {};

TEST_P(ParsePolicyYamlRejectsTest, IsInvalidArgumentNamingFileAndField) {
  PolicySetOr set = ParsePolicyYaml(GetParam().yaml, "policies.yaml");
  ASSERT_FALSE(set.ok()) << "accepted:\n" << GetParam().yaml;
  EXPECT_EQ(set.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(set.status().message(), "policies.yaml: "))
      << set.status();
  EXPECT_TRUE(absl::StrContains(set.status().message(), GetParam().want))
      << set.status() << "\nexpected to contain: " << GetParam().want;
}

// A valid first policy, so errors in the second show its index.
constexpr char kValidFirst[] = R"yaml(
policies:
  - name: login_ip
    dimensions: [ip]
    limit: 20
    window: 1m
)yaml";

// A second policy named "bad": `fields` replace its usual body.
Rejected SecondPolicy(std::string case_name, std::string fields,
                      std::string want) {
  return {std::move(case_name),
          std::string(kValidFirst) + "  - name: bad\n" + fields,
          std::move(want)};
}

constexpr char kDims[] = "    dimensions: [ip]\n";
constexpr char kLimit[] = "    limit: 5\n";
constexpr char kWindow[] = "    window: 15m\n";

// A policy body from its dimensions, limit and window lines (each may be
// left out or replaced) plus any further lines.
std::string Body(const std::string& dims, const std::string& limit,
                 const std::string& window, const std::string& extra = "") {
  return dims + limit + window + extra;
}

INSTANTIATE_TEST_SUITE_P(
    Policies, ParsePolicyYamlRejectsTest,
    ::testing::Values(
        Rejected{"RepeatedLimitKey",
                 SecondPolicy("x",
                              "    dimensions: [ip]\n    limit: 5\n"
                              "    window: 15m\n    limit: 500000\n",
                              "")
                     .yaml,
                 "line 11: duplicate key \"limit\" (first at line 9)"},
        Rejected{"RepeatedPoliciesKey",
                 std::string(kValidFirst) + "policies:\n  - name: other\n" +
                     kDims + kLimit + kWindow,
                 "line 7: duplicate key \"policies\" (first at line 2)"},
        Rejected{"RepeatedKeyInLockout",
                 SecondPolicy("x",
                              Body(kDims, kLimit, kWindow,
                                   "    lockout: {duration: 1m, duration: "
                                   "1h}\n"),
                              "")
                     .yaml,
                 "line 11: duplicate key \"duration\" (first at line 11)"},
        Rejected{"MissingName",
                 std::string(kValidFirst) + "  - dimensions: [ip]\n" + kLimit +
                     kWindow,
                 "policies[1].name: required"},
        Rejected{"NameTooLong",
                 "policies:\n  - name: " + std::string(65, 'a') +
                     "\n    dimensions: [ip]\n    limit: 5\n    window: 1m\n",
                 "policies[0].name: must be 1..64 characters"},
        Rejected{"UppercaseName",
                 "policies:\n  - name: Login_IP\n    dimensions: [ip]\n"
                 "    limit: 5\n    window: 1m\n",
                 "policies[0].name: must be 1..64 characters of [a-z0-9_]"},
        SecondPolicy("MissingDimensions", Body("", kLimit, kWindow),
                     "policies[1] (bad).dimensions: required"),
        SecondPolicy("EmptyDimensions",
                     Body("    dimensions: []\n", kLimit, kWindow),
                     "policies[1] (bad).dimensions: required"),
        SecondPolicy("DuplicateDimension",
                     Body("    dimensions: [ip, user, ip]\n", kLimit, kWindow),
                     "policies[1] (bad).dimensions: duplicate name"),
        SecondPolicy("BadDimensionName",
                     Body("    dimensions: [IP-Address]\n", kLimit, kWindow),
                     "policies[1] (bad).dimensions: names must be"),
        SecondPolicy("TooManyDimensions",
                     Body("    dimensions: [a, b, c, d, e, f, g, h, i]\n",
                          kLimit, kWindow),
                     "policies[1] (bad).dimensions: at most 8"),
        SecondPolicy("MissingLimit", Body(kDims, "", kWindow),
                     "policies[1] (bad).limit: required"),
        SecondPolicy("LimitZero", Body(kDims, "    limit: 0\n", kWindow),
                     "policies[1] (bad).limit: must be an integer from 1 to "
                     "1e9"),
        SecondPolicy("LimitNegative", Body(kDims, "    limit: -1\n", kWindow),
                     "policies[1] (bad).limit: must be an integer"),
        SecondPolicy("LimitInExponentForm",
                     Body(kDims, "    limit: 2e9\n", kWindow),
                     "policies[1] (bad).limit: must be an integer"),
        SecondPolicy("LimitAboveOneBillion",
                     Body(kDims, "    limit: 2000000000\n", kWindow),
                     "policies[1] (bad).limit: must be an integer"),
        SecondPolicy("LimitNotANumber",
                     Body(kDims, "    limit: abc\n", kWindow),
                     "policies[1] (bad).limit: must be an integer"),
        SecondPolicy("LimitFractional",
                     Body(kDims, "    limit: 2.5\n", kWindow),
                     "policies[1] (bad).limit: must be an integer"),
        SecondPolicy("MissingWindow", Body(kDims, kLimit, ""),
                     "policies[1] (bad).window: required"),
        SecondPolicy("WindowZero", Body(kDims, kLimit, "    window: 0\n"),
                     "policies[1] (bad).window: \"0\" is not a duration"),
        SecondPolicy("WindowWithoutUnit",
                     Body(kDims, kLimit, "    window: 60\n"),
                     "policies[1] (bad).window: \"60\" is not a duration"),
        SecondPolicy("WindowBadUnit", Body(kDims, kLimit, "    window: 15x\n"),
                     "policies[1] (bad).window: \"15x\" is not a duration"),
        SecondPolicy("WindowBelowOneSecond",
                     Body(kDims, kLimit, "    window: 500ms\n"),
                     "policies[1] (bad).window: must be from 1s to 400d"),
        SecondPolicy("WindowAbove400Days",
                     Body(kDims, kLimit, "    window: 401d\n"),
                     "policies[1] (bad).window: must be from 1s to 400d"),
        SecondPolicy("BucketsZero",
                     Body(kDims, kLimit, kWindow, "    buckets: 0\n"),
                     "policies[1] (bad).buckets: must be an integer from 1 to "
                     "3600"),
        SecondPolicy("BucketsTooMany",
                     Body(kDims, kLimit, kWindow, "    buckets: 3601\n"),
                     "policies[1] (bad).buckets: must be an integer"),
        SecondPolicy("UnknownFieldTypo", Body(kDims, "    limt: 5\n", kWindow),
                     "policies[1] (bad): unknown field \"limt\""),
        SecondPolicy("BadMode",
                     Body(kDims, kLimit, kWindow, "    mode: block\n"),
                     "policies[1] (bad).mode: must be enforce or shadow"),
        SecondPolicy("LockoutMaxBelowDuration",
                     Body(kDims, kLimit, kWindow,
                          "    lockout: {duration: 1h, max: 30m}\n"),
                     "policies[1] (bad).lockout.max: must be at least "
                     "lockout.duration"),
        SecondPolicy("LockoutMultiplierBelowOne",
                     Body(kDims, kLimit, kWindow,
                          "    lockout: {duration: 1m, multiplier: 0.5}\n"),
                     "policies[1] (bad).lockout.multiplier: must be a number "
                     "from 1 to 100"),
        SecondPolicy("LockoutMultiplierNotANumber",
                     Body(kDims, kLimit, kWindow,
                          "    lockout: {duration: 1m, multiplier: twice}\n"),
                     "policies[1] (bad).lockout.multiplier: must be a number"),
        SecondPolicy("LockoutMissingDuration",
                     Body(kDims, kLimit, kWindow, "    lockout: {max: 1h}\n"),
                     "policies[1] (bad).lockout.duration: required"),
        SecondPolicy("LockoutBadDuration",
                     Body(kDims, kLimit, kWindow,
                          "    lockout: {duration: 15}\n"),
                     "policies[1] (bad).lockout.duration: \"15\" is not a "
                     "duration"),
        SecondPolicy("LockoutUnknownField",
                     Body(kDims, kLimit, kWindow,
                          "    lockout: {duration: 1m, maximum: 1h}\n"),
                     "policies[1] (bad).lockout: unknown field \"maximum\""),
        SecondPolicy("LockoutNotAMap",
                     Body(kDims, kLimit, kWindow, "    lockout: 15m\n"),
                     "policies[1] (bad).lockout: must be a map"),
        Rejected{"DuplicatePolicyName",
                 std::string(kValidFirst) +
                     "  - name: login_ip\n    dimensions: [user]\n"
                     "    limit: 3\n    window: 1h\n",
                 "policies[1] (login_ip).name: duplicate policy name"},
        Rejected{"PolicyNotAMap",
                 std::string(kValidFirst) + "  - just a string\n",
                 "policies[1]: must be a map"}),
    [](const ::testing::TestParamInfo<Rejected>& info) {
      return info.param.case_name;
    });

INSTANTIATE_TEST_SUITE_P(
    File, ParsePolicyYamlRejectsTest,
    ::testing::Values(
        Rejected{"UnknownTopLevelField",
                 std::string(kValidFirst) + "defaults: {buckets: 10}\n",
                 "top level: unknown field \"defaults\""},
        Rejected{"MisspelledPoliciesKey",
                 "polices:\n  - name: a\n    dimensions: [ip]\n"
                 "    limit: 1\n    window: 1m\n",
                 "top level: unknown field \"polices\""},
        Rejected{"EmptyPolicyList", "policies: []\n",
                 "policies: required: a non-empty list"},
        Rejected{"EmptyFile", "", "top level must be a map"},
        Rejected{"TopLevelList", "- name: a\n", "top level must be a map"},
        // The flow sequence opened on line 4 is never closed; the parser
        // finds out on line 5.
        Rejected{"MalformedYaml",
                 "policies:\n  - name: a\n    limit: 5\n"
                 "    dimensions: [ip, user\n    window: 1m\n",
                 "policies.yaml: line 5: end of sequence flow not found"},
        Rejected{"BadIndentation",
                 "policies:\n  - name: a\n    limit: 5\n   window: 1m\n",
                 "line 4: "}),
    [](const ::testing::TestParamInfo<Rejected>& info) {
      return info.param.case_name;
    });

INSTANTIATE_TEST_SUITE_P(
    AuditSettings, ParsePolicyYamlRejectsTest,
    ::testing::Values(
        Rejected{"PersonalDimensionsNotAList",
                 "personal_dimensions: user\n" + std::string(kValidFirst),
                 "personal_dimensions: must be a list of dimension names"},
        Rejected{
            "PersonalDimensionsMapInsteadOfList",
            "personal_dimensions: {user: true}\n" + std::string(kValidFirst),
            "personal_dimensions: must be a list"},
        Rejected{
            "PersonalDimensionBadName",
            "personal_dimensions: [user, E-Mail]\n" + std::string(kValidFirst),
            "personal_dimensions: names must be 1..64 characters of "
            "[a-z0-9_]"},
        Rejected{
            "PersonalDimensionEmptyName",
            "personal_dimensions: [user, \"\"]\n" + std::string(kValidFirst),
            "personal_dimensions: names must be"},
        Rejected{"PersonalDimensionNested",
                 "personal_dimensions: [[user]]\n" + std::string(kValidFirst),
                 "personal_dimensions: names must be"},
        SecondPolicy("IpPrefixNotAMap",
                     Body(kDims, kLimit, kWindow, "    ip_prefix: 24\n"),
                     "policies[1] (bad).ip_prefix: must be a map {ipv4: "
                     "0..32, ipv6: 0..128}"),
        SecondPolicy("IpPrefixUnknownFamily",
                     Body(kDims, kLimit, kWindow,
                          "    ip_prefix: {ipv4: 24, ipv5: 8}\n"),
                     "policies[1] (bad).ip_prefix: unknown field \"ipv5\""),
        SecondPolicy("IpPrefixIpv4TooLong",
                     Body(kDims, kLimit, kWindow,
                          "    ip_prefix: {ipv4: 33}\n"),
                     "policies[1] (bad).ip_prefix.ipv4: must be an integer "
                     "from 0 to 32"),
        SecondPolicy("IpPrefixIpv4Negative",
                     Body(kDims, kLimit, kWindow,
                          "    ip_prefix: {ipv4: -1}\n"),
                     "policies[1] (bad).ip_prefix.ipv4: must be an integer"),
        SecondPolicy("IpPrefixIpv4Fractional",
                     Body(kDims, kLimit, kWindow,
                          "    ip_prefix: {ipv4: 24.5}\n"),
                     "policies[1] (bad).ip_prefix.ipv4: must be an integer"),
        SecondPolicy("IpPrefixIpv4NotANumber",
                     Body(kDims, kLimit, kWindow,
                          "    ip_prefix: {ipv4: all}\n"),
                     "policies[1] (bad).ip_prefix.ipv4: must be an integer"),
        SecondPolicy("IpPrefixIpv6TooLong",
                     Body(kDims, kLimit, kWindow,
                          "    ip_prefix: {ipv4: 24, ipv6: 129}\n"),
                     "policies[1] (bad).ip_prefix.ipv6: must be an integer "
                     "from 0 to 128"),
        SecondPolicy("IpPrefixIpv6Negative",
                     Body(kDims, kLimit, kWindow,
                          "    ip_prefix: {ipv6: -64}\n"),
                     "policies[1] (bad).ip_prefix.ipv6: must be an integer")),
    [](const ::testing::TestParamInfo<Rejected>& info) {
      return info.param.case_name;
    });

// A file holding `text` in a fresh TempDir, removed with it.
class TempFile {
 public:
  explicit TempFile(const std::string& text)
      : path_(dir_.WriteFile("policies.yaml", text)) {}

  const std::string& path() const { return path_; }

 private:
  testing::TempDir dir_;
  const std::string path_;
};

TEST(ParsePolicyYamlTest, EnvoyMappingKeepsEntriesInOrder) {
  PolicySetOr set = ParsePolicyYaml(R"yaml(
policies:
  - name: login_user_ip
    dimensions: [user, ip]
    limit: 5
    window: 1m
    envoy:
      domain: edge
      descriptor:
        - {key: generic_key, value: login}
        - {key: remote_address, dimension: ip}
        - {key: user, dimension: user}
  - name: plain
    dimensions: [ip]
    limit: 1
    window: 1m
)yaml",
                                    "envoy.yaml");
  ASSERT_TRUE(set.ok()) << set.status();
  const Policy* p = Find(**set, "login_user_ip");
  ASSERT_NE(p, nullptr);
  ASSERT_TRUE(p->envoy.has_value());
  EXPECT_EQ(p->envoy->domain, "edge");
  ASSERT_EQ(p->envoy->entries.size(), 3u);
  EXPECT_EQ(p->envoy->entries[0].key, "generic_key");
  EXPECT_EQ(p->envoy->entries[0].value, "login");
  EXPECT_EQ(p->envoy->entries[1].dimension, "ip");
  EXPECT_FALSE(p->envoy->entries[1].value.has_value());
  EXPECT_FALSE(Find(**set, "plain")->envoy.has_value());
  EXPECT_TRUE((*set)->envoy().Find("edge", {{"generic_key", "login"},
                                            {"remote_address", "192.0.2.1"},
                                            {"user", "ann"}}));
}

// The second policy (bad, dimensions [ip]) with `envoy` as given.
Rejected Envoy(std::string case_name, std::string envoy, std::string want) {
  return SecondPolicy(
      std::move(case_name),
      Body(kDims, kLimit, kWindow, "    envoy: " + envoy + "\n"),
      std::move(want));
}

INSTANTIATE_TEST_SUITE_P(
    Envoy, ParsePolicyYamlRejectsTest,
    ::testing::Values(
        Envoy("NotAMap", "edge", "policies[1] (bad).envoy: must be a map"),
        Envoy("UnknownField",
              "{domain: edge, descriptor: [{key: a, dimension: ip}], x: 1}",
              "policies[1] (bad).envoy: unknown field \"x\""),
        Envoy("MissingDomain", "{descriptor: [{key: a, dimension: ip}]}",
              "policies[1] (bad).envoy.domain: required"),
        Envoy("EmptyDescriptor", "{domain: edge, descriptor: []}",
              "policies[1] (bad).envoy.descriptor: required"),
        Envoy("EntryWithoutKey",
              "{domain: edge, descriptor: [{dimension: ip}]}",
              "policies[1] (bad).envoy.descriptor[0].key: required"),
        Envoy("ValueAndDimension",
              "{domain: edge, descriptor: [{key: a, value: b, dimension: ip}]}",
              "policies[1] (bad).envoy.descriptor[0]: value and dimension "
              "exclude each other"),
        Envoy("UnknownDimension",
              "{domain: edge, descriptor: [{key: a, dimension: user}]}",
              "policies[1] (bad).envoy.descriptor[0].dimension: \"user\" is "
              "not a dimension of the policy"),
        Envoy("DimensionMappedTwice",
              "{domain: edge, descriptor: [{key: a, dimension: ip}, "
              "{key: b, dimension: ip}]}",
              "policies[1] (bad).envoy.descriptor[1].dimension: \"ip\" is "
              "already mapped"),
        Envoy("DimensionNotMapped",
              "{domain: edge, descriptor: [{key: a, value: b}]}",
              "policies[1] (bad).envoy.descriptor: no entry maps dimension "
              "\"ip\""),
        Rejected{"SameShapeAsAnother",
                 "policies:\n"
                 "  - {name: a, dimensions: [ip], limit: 1, window: 1m,\n"
                 "     envoy: {domain: edge, descriptor: [{key: remote_address,"
                 " dimension: ip}]}}\n"
                 "  - {name: b, dimensions: [ip], limit: 9, window: 1h,\n"
                 "     envoy: {domain: edge, descriptor: [{key: remote_address,"
                 " dimension: ip}]}}\n",
                 "policies[1] (b).envoy: matches the same descriptors as "
                 "policy a"}),
    [](const ::testing::TestParamInfo<Rejected>& info) {
      return info.param.case_name;
    });

TEST(LoadPolicyFileTest, MissingFileIsNotFoundNamingThePath) {
  const std::string path =
      ::testing::TempDir() + "/gatehouse-no-such-dir/policies.yaml";
  PolicySetOr set = LoadPolicyFile(path);
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(absl::StrContains(set.status().message(), path)) << set.status();
}

TEST(LoadPolicyFileTest, ReadsAFileFromDisk) {
  TempFile file(kValidFirst);
  ASSERT_FALSE(file.path().empty());
  PolicySetOr set = LoadPolicyFile(file.path());
  ASSERT_TRUE(set.ok()) << set.status();
  const Policy* p = Find(**set, "login_ip");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->limit, 20u);
  EXPECT_EQ(p->window, absl::Minutes(1));
}

TEST(LoadPolicyFileTest, ErrorsNameTheFilePath) {
  TempFile file(
      "policies:\n  - name: a\n    dimensions: [ip]\n"
      "    limit: 0\n    window: 1m\n");
  ASSERT_FALSE(file.path().empty());
  PolicySetOr set = LoadPolicyFile(file.path());
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(set.status().message(),
                               file.path() + ": policies[0] (a).limit: "))
      << set.status();
}

TEST(LoadPolicyFileTest, FileOverTheSizeBoundIsRefusedUnparsed) {
  // Valid YAML all the way, so only the size can refuse it.
  std::string yaml(kValidFirst);
  while (yaml.size() <= kMaxPolicyFileBytes) yaml += "# padding\n";
  TempFile file(yaml);
  ASSERT_FALSE(file.path().empty());
  PolicySetOr set = LoadPolicyFile(file.path());
  EXPECT_EQ(set.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(set.status().message(),
            file.path() + ": policy file is over 2 MiB");

  yaml.resize(kMaxPolicyFileBytes - 1);
  TempFile just_fits(yaml.substr(0, yaml.rfind('\n') + 1));
  EXPECT_TRUE(LoadPolicyFile(just_fits.path()).ok());
}

TEST(LoadPolicyFileTest, ShippedExampleParsesWithItsFourPolicies) {
  PolicySetOr set = LoadPolicyFile(std::string(GATEHOUSE_SOURCE_DIR) +
                                   "/config/policies.example.yaml");
  ASSERT_TRUE(set.ok()) << set.status();
  ASSERT_EQ((*set)->all().size(), 4u);

  const Policy* login = Find(**set, "login_ip");
  ASSERT_NE(login, nullptr);
  EXPECT_EQ(login->dimensions, (std::vector<std::string>{"ip"}));
  EXPECT_EQ(login->limit, 20u);
  EXPECT_EQ(login->window, absl::Minutes(1));
  EXPECT_EQ(login->buckets, 60);
  EXPECT_FALSE(login->lockout.has_value());
  EXPECT_EQ(login->mode, PolicyMode::kEnforce);

  const Policy* user_ip = Find(**set, "failed_auth_user_ip");
  ASSERT_NE(user_ip, nullptr);
  EXPECT_EQ(user_ip->dimensions, (std::vector<std::string>{"ip", "user"}));
  EXPECT_EQ(user_ip->limit, 5u);
  EXPECT_EQ(user_ip->window, absl::Minutes(15));
  ASSERT_TRUE(user_ip->lockout.has_value());
  EXPECT_EQ(user_ip->lockout->duration, absl::Minutes(15));
  EXPECT_DOUBLE_EQ(user_ip->lockout->multiplier, 2.0);
  EXPECT_EQ(user_ip->lockout->max, absl::Hours(24));
  EXPECT_EQ(user_ip->mode, PolicyMode::kEnforce);

  const Policy* token = Find(**set, "failed_token_prefix_ip");
  ASSERT_NE(token, nullptr);
  EXPECT_EQ(token->dimensions,
            (std::vector<std::string>{"ip", "token_prefix"}));
  EXPECT_EQ(token->limit, 10u);
  EXPECT_EQ(token->window, absl::Minutes(10));
  ASSERT_TRUE(token->lockout.has_value());
  EXPECT_EQ(token->lockout->duration, absl::Minutes(5));
  EXPECT_DOUBLE_EQ(token->lockout->multiplier, 2.0);
  EXPECT_EQ(token->lockout->max, absl::Hours(6));
  EXPECT_EQ(token->mode, PolicyMode::kEnforce);

  const Policy* ip = Find(**set, "failed_auth_ip");
  ASSERT_NE(ip, nullptr);
  EXPECT_EQ(ip->dimensions, (std::vector<std::string>{"ip"}));
  EXPECT_EQ(ip->limit, 100u);
  EXPECT_EQ(ip->window, absl::Hours(1));
  EXPECT_FALSE(ip->lockout.has_value());
  EXPECT_EQ(ip->mode, PolicyMode::kShadow);
}

}  // namespace
}  // namespace gatehouse
