#include "service/auth/credentials.h"

#include <memory>
#include <set>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/config/policy_file.h"

namespace gatehouse {
namespace {

using ::testing::ElementsAre;
using CredentialsOr = absl::StatusOr<std::shared_ptr<const Credentials>>;

std::string HashOf(const std::string& token) {
  return HexEncode(Sha256(token));
}

TEST(Sha256Test, MatchesTheStandardTestVector) {
  // FIPS 180-2, appendix B.1.
  EXPECT_EQ(HexEncode(Sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(HexEncode(Sha256("")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(ScopeNameTest, NamesEveryScopeAsWrittenInTheFile) {
  EXPECT_STREQ(ScopeName(Scope::kCheck), "check");
  EXPECT_STREQ(ScopeName(Scope::kPeek), "peek");
  EXPECT_STREQ(ScopeName(Scope::kRecord), "record");
  EXPECT_STREQ(ScopeName(Scope::kReset), "reset");
  EXPECT_STREQ(ScopeName(Scope::kAudit), "audit");
  EXPECT_STREQ(ScopeName(Scope::kAdmin), "admin");
}

// Two clients: a gateway mid-rotation (two tokens) limited to two policies,
// and an operator with every policy.
std::string ValidFile() {
  return absl::StrCat(R"yaml(
clients:
  - id: api-gateway
    token_sha256:
      - )yaml",
                      HashOf("gateway-token-old"), R"yaml(
      - )yaml",
                      HashOf("gateway-token-new"), R"yaml(
    scopes: [check, peek, record, reset]
    policies: [login_ip, failed_auth_user_ip]
  - id: operator
    token_sha256: [)yaml",
                      HashOf("operator-token"), R"yaml(]
    scopes: [audit, admin]
)yaml");
}

TEST(CredentialsTest, ParsesEveryFieldOfAValidFile) {
  CredentialsOr creds = Credentials::Parse(ValidFile(), "clients.yaml");
  ASSERT_TRUE(creds.ok()) << creds.status();
  const auto& clients = (*creds)->clients();
  ASSERT_EQ(clients.size(), 2u);

  EXPECT_EQ(clients[0].id, "api-gateway");
  ASSERT_EQ(clients[0].token_hashes.size(), 2u);
  EXPECT_EQ(clients[0].token_hashes[0], Sha256("gateway-token-old"));
  EXPECT_EQ(clients[0].token_hashes[1], Sha256("gateway-token-new"));
  EXPECT_EQ(clients[0].scopes,
            (std::set<Scope>{Scope::kCheck, Scope::kPeek, Scope::kRecord,
                             Scope::kReset}));
  ASSERT_TRUE(clients[0].policies.has_value());
  EXPECT_EQ(*clients[0].policies,
            (std::set<std::string>{"failed_auth_user_ip", "login_ip"}));

  EXPECT_EQ(clients[1].id, "operator");
  ASSERT_EQ(clients[1].token_hashes.size(), 1u);
  EXPECT_EQ(clients[1].token_hashes[0], Sha256("operator-token"));
  EXPECT_EQ(clients[1].scopes, (std::set<Scope>{Scope::kAudit, Scope::kAdmin}));
  EXPECT_FALSE(clients[1].policies.has_value());
}

TEST(CredentialsTest, WarnsOfPoliciesThePolicyFileLacks) {
  CredentialsOr creds = Credentials::Parse(ValidFile(), "clients.yaml");
  ASSERT_TRUE(creds.ok()) << creds.status();
  absl::StatusOr<std::shared_ptr<const PolicySet>> policies = ParsePolicyYaml(
      "policies:\n  - {name: login_ip, dimensions: [ip], limit: 5, "
      "window: 1m}\n",
      "policies.yaml");
  ASSERT_TRUE(policies.ok()) << policies.status();
  EXPECT_THAT((*creds)->Warnings(**policies),
              ElementsAre("client api-gateway names policy "
                          "failed_auth_user_ip, which the policy file does "
                          "not have"));
}

TEST(CredentialsTest, WarnsOfAFileWithNoClients) {
  CredentialsOr creds = Credentials::Parse("clients: []\n", "clients.yaml");
  ASSERT_TRUE(creds.ok()) << creds.status();
  const PolicySet no_policies({}, {});
  EXPECT_THAT((*creds)->Warnings(no_policies),
              ElementsAre("no clients: every call will be refused"));
}

TEST(CredentialsTest, NoWarningsWhenEveryNamedPolicyExists) {
  CredentialsOr creds = Credentials::Parse(ValidFile(), "clients.yaml");
  ASSERT_TRUE(creds.ok()) << creds.status();
  absl::StatusOr<std::shared_ptr<const PolicySet>> policies = ParsePolicyYaml(
      "policies:\n"
      "  - {name: login_ip, dimensions: [ip], limit: 5, window: 1m}\n"
      "  - {name: failed_auth_user_ip, dimensions: [ip], limit: 5, "
      "window: 1m}\n",
      "policies.yaml");
  ASSERT_TRUE(policies.ok()) << policies.status();
  EXPECT_THAT((*creds)->Warnings(**policies), ElementsAre());
}

TEST(CredentialsTest, AcceptsUppercaseHex) {
  CredentialsOr creds = Credentials::Parse(
      absl::StrCat("clients:\n  - id: ci\n    token_sha256: [",
                   absl::AsciiStrToUpper(HashOf("ci-token")),
                   "]\n    scopes: [peek]\n"),
      "clients.yaml");
  ASSERT_TRUE(creds.ok()) << creds.status();
  const ClientIdentity* client = (*creds)->FindByToken("ci-token");
  ASSERT_NE(client, nullptr);
  EXPECT_EQ(client->id, "ci");
}

TEST(CredentialsTest, FindByTokenMatchesTheSha256OfTheToken) {
  CredentialsOr creds = Credentials::Parse(ValidFile(), "clients.yaml");
  ASSERT_TRUE(creds.ok()) << creds.status();
  const ClientIdentity* op = (*creds)->FindByToken("operator-token");
  ASSERT_NE(op, nullptr);
  EXPECT_EQ(op->id, "operator");
  // The file holds only hashes: the hash text itself is not a token.
  EXPECT_EQ((*creds)->FindByToken(HashOf("operator-token")), nullptr);
}

TEST(CredentialsTest, EveryHashOfARotatingClientFindsIt) {
  CredentialsOr creds = Credentials::Parse(ValidFile(), "clients.yaml");
  ASSERT_TRUE(creds.ok()) << creds.status();
  for (const char* token : {"gateway-token-old", "gateway-token-new"}) {
    const ClientIdentity* client = (*creds)->FindByToken(token);
    ASSERT_NE(client, nullptr) << token;
    EXPECT_EQ(client->id, "api-gateway") << token;
  }
}

TEST(CredentialsTest, UnknownTokensFindNobody) {
  CredentialsOr creds = Credentials::Parse(ValidFile(), "clients.yaml");
  ASSERT_TRUE(creds.ok()) << creds.status();
  EXPECT_EQ((*creds)->FindByToken(""), nullptr);
  EXPECT_EQ((*creds)->FindByToken("operator-token "), nullptr);
  EXPECT_EQ((*creds)->FindByToken("Operator-token"), nullptr);
  EXPECT_EQ((*creds)->FindByToken("gateway-token"), nullptr);
}

TEST(CredentialsTest, LoadOfMissingFileIsNotFoundNamingThePath) {
  const std::string path =
      ::testing::TempDir() + "/gatehouse-no-such-dir/clients.yaml";
  CredentialsOr creds = Credentials::Load(path);
  ASSERT_FALSE(creds.ok());
  EXPECT_EQ(creds.status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(absl::StrContains(creds.status().message(), path))
      << creds.status();
}

struct Rejected {
  std::string case_name;
  std::string yaml;
  std::string want;
};

class CredentialsRejectsTest : public ::testing::TestWithParam<Rejected> {};

TEST_P(CredentialsRejectsTest, IsInvalidArgumentNamingClientAndField) {
  CredentialsOr creds = Credentials::Parse(GetParam().yaml, "clients.yaml");
  ASSERT_FALSE(creds.ok()) << "accepted:\n" << GetParam().yaml;
  EXPECT_EQ(creds.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(creds.status().message(), "clients.yaml: "))
      << creds.status();
  EXPECT_TRUE(absl::StrContains(creds.status().message(), GetParam().want))
      << creds.status() << "\nexpected to contain: " << GetParam().want;
}

// Well-formed hashes that no token in these tests has.
std::string HashA() { return std::string(64, 'a'); }
std::string HashB() { return std::string(64, 'b'); }

// A valid first client, so errors in the second show its index.
std::string FirstClient() {
  return absl::StrCat("clients:\n  - id: first\n    token_sha256: [", HashA(),
                      "]\n    scopes: [check]\n");
}

INSTANTIATE_TEST_SUITE_P(
    Clients, CredentialsRejectsTest,
    ::testing::Values(
        Rejected{"RepeatedScopesKey", FirstClient() + "    scopes: [admin]\n",
                 "line 5: duplicate key \"scopes\" (first at line 4)"},
        Rejected{"RepeatedClientsKey", FirstClient() + "clients: []\n",
                 "line 5: duplicate key \"clients\" (first at line 1)"},
        Rejected{"MissingId",
                 FirstClient() + absl::StrCat("  - token_sha256: [", HashB(),
                                              "]\n    scopes: [check]\n"),
                 "clients[1].id: required"},
        Rejected{
            "EmptyId",
            FirstClient() + absl::StrCat("  - id: \"\"\n    token_sha256: [",
                                         HashB(), "]\n    scopes: [check]\n"),
            "clients[1].id: required"},
        Rejected{
            "DuplicateId",
            FirstClient() + absl::StrCat("  - id: first\n    token_sha256: [",
                                         HashB(), "]\n    scopes: [check]\n"),
            "clients[1] (first).id: duplicate"},
        Rejected{
            "HashTooShort",
            FirstClient() + absl::StrCat("  - id: second\n    token_sha256: [",
                                         std::string(63, 'b'),
                                         "]\n    scopes: [check]\n"),
            "clients[1] (second).token_sha256: entries must be 64 hex "
            "characters"},
        Rejected{
            "HashTooLong",
            FirstClient() + absl::StrCat("  - id: second\n    token_sha256: [",
                                         std::string(65, 'b'),
                                         "]\n    scopes: [check]\n"),
            "clients[1] (second).token_sha256: entries must be 64 hex"},
        Rejected{
            "HashNotHex",
            FirstClient() + absl::StrCat("  - id: second\n    token_sha256: [",
                                         std::string(63, 'b'), "g",
                                         "]\n    scopes: [check]\n"),
            "clients[1] (second).token_sha256: entries must be 64 hex"},
        Rejected{"HashIsTheTokenItself",
                 FirstClient() +
                     "  - id: second\n    token_sha256: [my-secret-token]\n"
                     "    scopes: [check]\n",
                 "clients[1] (second).token_sha256: entries must be 64 hex"},
        Rejected{"MissingHashes",
                 FirstClient() + "  - id: second\n    scopes: [check]\n",
                 "clients[1] (second).token_sha256: required"},
        Rejected{"EmptyHashes",
                 FirstClient() + "  - id: second\n    token_sha256: []\n"
                                 "    scopes: [check]\n",
                 "clients[1] (second).token_sha256: required"},
        Rejected{
            "HashSharedWithAnotherClient",
            FirstClient() + absl::StrCat("  - id: second\n    token_sha256: [",
                                         absl::AsciiStrToUpper(HashA()),
                                         "]\n    scopes: [peek]\n"),
            "clients[1] (second).token_sha256: hash already used"},
        Rejected{
            "HashRepeatedWithinAClient",
            FirstClient() + absl::StrCat("  - id: second\n    token_sha256: [",
                                         HashB(), ", ", HashB(),
                                         "]\n    scopes: [peek]\n"),
            "clients[1] (second).token_sha256: hash already used"},
        Rejected{"UnknownScope",
                 FirstClient() +
                     absl::StrCat("  - id: second\n    token_sha256: [",
                                  HashB(), "]\n    scopes: [check, chek]\n"),
                 "clients[1] (second).scopes: unknown scope \"chek\""},
        Rejected{
            "MissingScopes",
            FirstClient() + absl::StrCat("  - id: second\n    token_sha256: [",
                                         HashB(), "]\n"),
            "clients[1] (second).scopes: required"},
        Rejected{
            "UnknownField",
            FirstClient() + absl::StrCat("  - id: second\n    token_sha256: [",
                                         HashB(), "]\n    scope: [check]\n"),
            "clients[1] (second): unknown field \"scope\""},
        Rejected{
            "PoliciesNotAList",
            FirstClient() + absl::StrCat("  - id: second\n    token_sha256: [",
                                         HashB(),
                                         "]\n    scopes: [check]\n"
                                         "    policies: login_ip\n"),
            "clients[1] (second).policies: must be a list"},
        Rejected{"ClientNotAMap", FirstClient() + "  - second\n",
                 "clients[1]: must be a map"}),
    [](const ::testing::TestParamInfo<Rejected>& info) {
      return info.param.case_name;
    });

INSTANTIATE_TEST_SUITE_P(
    File, CredentialsRejectsTest,
    ::testing::Values(
        Rejected{"MissingClients", "users: []\n", "clients: required"},
        Rejected{"EmptyFile", "", "clients: required"},
        Rejected{"UnknownTopLevelField", FirstClient() + "admins: []\n",
                 "top level: unknown field \"admins\""},
        Rejected{"MalformedYaml", "clients:\n  - id: a\n    scopes: [check\n",
                 "clients.yaml: line 4: end of sequence flow not found"}),
    [](const ::testing::TestParamInfo<Rejected>& info) {
      return info.param.case_name;
    });

}  // namespace
}  // namespace gatehouse
