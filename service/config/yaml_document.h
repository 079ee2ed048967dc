#ifndef GATEHOUSE_SERVICE_CONFIG_YAML_DOCUMENT_H_
#define GATEHOUSE_SERVICE_CONFIG_YAML_DOCUMENT_H_

#include <yaml-cpp/yaml.h>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace gatehouse {

// Parses `text` as one YAML document for a configuration file, refusing
// what yaml-cpp accepts silently: a mapping anywhere in the document that
// repeats a key. yaml-cpp keeps both entries and a lookup finds the first,
// so `limit: 5` followed by `limit: 500000` would serve one of the two.
// INVALID_ARGUMENT on a syntax error (`line 3: end of map not found`) or a
// repeated key (`line 7: duplicate key "limit" (first at line 4)`); lines
// count from 1. Never throws.
absl::StatusOr<YAML::Node> ParseYamlDocument(absl::string_view text);

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_CONFIG_YAML_DOCUMENT_H_
