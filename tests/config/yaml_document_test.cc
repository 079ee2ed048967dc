#include "service/config/yaml_document.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace gatehouse {
namespace {

TEST(ParseYamlDocumentTest, ParsesAWellFormedDocument) {
  absl::StatusOr<YAML::Node> root =
      ParseYamlDocument("a: 1\nb: {x: [1, 2], y: {z: 3}}\n");
  ASSERT_TRUE(root.ok()) << root.status();
  EXPECT_EQ((*root)["b"]["y"]["z"].as<int>(), 3);
}

TEST(ParseYamlDocumentTest, SyntaxErrorNamesTheLine) {
  absl::StatusOr<YAML::Node> root = ParseYamlDocument("a: 1\nb: [1, 2\n");
  EXPECT_EQ(root.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(root.status().message().substr(0, 7), "line 3:") << root.status();
}

TEST(ParseYamlDocumentTest, RepeatedTopLevelKeyNamesBothLines) {
  absl::StatusOr<YAML::Node> root = ParseYamlDocument("a: 1\nb: 2\na: 3\n");
  EXPECT_EQ(root.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(root.status().message(),
            "line 3: duplicate key \"a\" (first at line 1)");
}

TEST(ParseYamlDocumentTest, RepeatedKeyInsideSequencesAndFlowMapsIsFound) {
  absl::StatusOr<YAML::Node> root =
      ParseYamlDocument("list:\n  - ok: 1\n  - {k: 1,\n     k: 2}\n");
  EXPECT_EQ(root.status().message(),
            "line 4: duplicate key \"k\" (first at line 3)");
}

TEST(ParseYamlDocumentTest, SameKeyInSiblingMapsIsNotADuplicate) {
  EXPECT_TRUE(ParseYamlDocument("- {k: 1}\n- {k: 2}\n").ok());
}

TEST(ParseYamlDocumentTest, SharedAliasesAreWalkedOnce) {
  // Each level refers to the previous one ten times: 10^8 paths, 9 nodes.
  std::string yaml = "l0: &l0 [x]\n";
  for (int i = 1; i <= 8; ++i) {
    yaml += absl::StrCat("l", i, ": &l", i, " [");
    for (int j = 0; j < 10; ++j)
      yaml += absl::StrCat(j ? ", " : "", "*l", i - 1);
    yaml += "]\n";
  }
  EXPECT_TRUE(ParseYamlDocument(yaml).ok());
}

}  // namespace
}  // namespace gatehouse
