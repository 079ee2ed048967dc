#include "service/config/yaml_document.h"

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"

namespace gatehouse {
namespace {

// Checks every mapping reachable from `root`. Iterative, so a deeply nested
// document cannot exhaust the stack; each node is visited once (aliases
// share nodes, and a chain of them must not be walked exponentially often),
// a node being known by where the parser found it.
absl::Status CheckNoDuplicateKeys(const YAML::Node& root) {
  std::vector<YAML::Node> pending = {root};
  std::set<int> visited;
  while (!pending.empty()) {
    const YAML::Node node = pending.back();
    pending.pop_back();
    if (!visited.insert(node.Mark().pos).second) continue;
    if (node.IsSequence()) {
      for (const YAML::Node& item : node) pending.push_back(item);
    } else if (node.IsMap()) {
      std::map<std::string, int> first_line;
      for (const auto& entry : node) {
        if (entry.first.IsScalar()) {
          const std::string& key = entry.first.Scalar();
          const int line = entry.first.Mark().line + 1;
          const auto [it, inserted] = first_line.emplace(key, line);
          if (!inserted) {
            return absl::InvalidArgumentError(
                absl::StrCat("line ", line, ": duplicate key \"", key,
                             "\" (first at line ", it->second, ")"));
          }
        }
        pending.push_back(entry.first);
        pending.push_back(entry.second);
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<YAML::Node> ParseYamlDocument(absl::string_view text) {
  YAML::Node root;
  try {  // yaml-cpp reports errors by exception; they stop here.
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("line ", e.mark.line + 1, ": ", e.msg));
  }
  if (absl::Status s = CheckNoDuplicateKeys(root); !s.ok()) return s;
  return root;
}

}  // namespace gatehouse
