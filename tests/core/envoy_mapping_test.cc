#include "service/core/envoy_mapping.h"

#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace gatehouse {
namespace {

using Mappings = std::vector<std::pair<std::string, EnvoyMapping>>;

EnvoyEntryMapping Fixed(std::string key, std::string value) {
  EnvoyEntryMapping e;
  e.key = std::move(key);
  e.value = std::move(value);
  return e;
}

EnvoyEntryMapping Dimension(std::string key, std::string dimension) {
  EnvoyEntryMapping e;
  e.key = std::move(key);
  e.dimension = std::move(dimension);
  return e;
}

// login_ip: edge, (generic_key = login, remote_address -> ip);
// signup_ip: edge, (generic_key = signup, remote_address -> ip);
// user_ip: edge, (remote_address -> ip, user -> user).
Mappings EdgeMappings() {
  return {
      {"login_ip",
       {"edge",
        {Fixed("generic_key", "login"), Dimension("remote_address", "ip")}}},
      {"signup_ip",
       {"edge",
        {Fixed("generic_key", "signup"), Dimension("remote_address", "ip")}}},
      {"user_ip",
       {"edge",
        {Dimension("remote_address", "ip"), Dimension("user", "user")}}},
  };
}

TEST(EnvoyIndexTest, MatchesDomainKeysInOrderAndFixedValues) {
  const EnvoyIndex index(EdgeMappings());
  std::optional<EnvoyMatch> m = index.Find(
      "edge", {{"generic_key", "signup"}, {"remote_address", "203.0.113.7"}});
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->policy, "signup_ip");
  EXPECT_EQ(m->key,
            (std::map<std::string, std::string>{{"ip", "203.0.113.7"}}));
  EXPECT_EQ(m->entry_of.at("ip"), 1u);

  m = index.Find("edge", {{"remote_address", "203.0.113.7"}, {"user", "ann"}});
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->policy, "user_ip");
  EXPECT_EQ(m->key.at("user"), "ann");
  EXPECT_EQ(m->entry_of.at("user"), 1u);
}

TEST(EnvoyIndexTest, AnythingElseMatchesNothing) {
  const EnvoyIndex index(EdgeMappings());
  // Another fixed value, another domain, another order, a missing or an
  // extra entry.
  EXPECT_FALSE(index.Find(
      "edge", {{"generic_key", "reset"}, {"remote_address", "203.0.113.7"}}));
  EXPECT_FALSE(index.Find("internal", {{"generic_key", "login"},
                                       {"remote_address", "203.0.113.7"}}));
  EXPECT_FALSE(index.Find(
      "edge", {{"remote_address", "203.0.113.7"}, {"generic_key", "login"}}));
  EXPECT_FALSE(index.Find("edge", {{"generic_key", "login"}}));
  EXPECT_FALSE(index.Find("edge", {{"generic_key", "login"},
                                   {"remote_address", "203.0.113.7"},
                                   {"path", "/login"}}));
  // Keys that would join into the same text must not collide.
  EXPECT_FALSE(index.Find(
      "edge",
      {{"generic_key", "login"}, {std::string("remote_address\0", 15), "x"}}));
  EXPECT_TRUE(index.HasDomain("edge"));
  EXPECT_FALSE(index.HasDomain("internal"));
}

TEST(CheckEnvoyMappingsTest, DistinctFixedValuesDoNotOverlap) {
  const Mappings m = EdgeMappings();
  EXPECT_TRUE(CheckEnvoyMappings(m, {"a", "b", "c"}).ok());
}

TEST(CheckEnvoyMappingsTest, SameShapeThatOneDescriptorMatchesTwiceIsAnError) {
  Mappings m = EdgeMappings();
  // A dimension where another policy fixes a value: the descriptor
  // (generic_key=login, remote_address=...) would match both.
  m.push_back({"any_key_ip",
               {"edge",
                {Dimension("generic_key", "route"),
                 Dimension("remote_address", "ip")}}});
  const absl::Status s = CheckEnvoyMappings(
      m, {"policies[0] (login_ip).envoy", "policies[1] (signup_ip).envoy",
          "policies[2] (user_ip).envoy", "policies[3] (any_key_ip).envoy"});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "policies[3] (any_key_ip).envoy: matches the same descriptors as "
            "policy login_ip (domain edge, entries generic_key, "
            "remote_address); give one of them a different domain, key or "
            "fixed value");
}

TEST(CheckEnvoyMappingsTest, OtherDomainsDoNotOverlap) {
  Mappings m = EdgeMappings();
  m.push_back(
      {"internal_login",
       {"internal",
        {Fixed("generic_key", "login"), Dimension("remote_address", "ip")}}});
  EXPECT_TRUE(CheckEnvoyMappings(m, {"a", "b", "c", "d"}).ok());
}

}  // namespace
}  // namespace gatehouse
