#include "service/config/policy_file.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "service/config/config_file.h"
#include "service/config/duration.h"
#include "service/config/yaml_document.h"
#include "service/core/status_macros.h"
#include "service/core/subject_key.h"

namespace gatehouse {
namespace {

constexpr size_t kMaxPolicies = 1000;
constexpr size_t kMaxNameBytes = 64;
constexpr size_t kMaxDimensions = 8;
constexpr uint64_t kMaxLimit = 1'000'000'000;
constexpr int kMaxBuckets = 3600;
constexpr int64_t kMaxPermanentAfter = 1'000'000;
constexpr size_t kMaxDenyReasonBytes = 256;

bool IsIdentifier(const std::string& s) {
  if (s.empty() || s.size() > kMaxNameBytes) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

absl::Status FieldError(const std::string& where, absl::string_view field,
                        absl::string_view problem) {
  return absl::InvalidArgumentError(
      absl::StrCat(where, ".", field, ": ", problem));
}

absl::Status CheckKnownFields(const YAML::Node& map, const std::string& where,
                              std::initializer_list<const char*> known) {
  for (const auto& entry : map) {
    const std::string key = entry.first.as<std::string>();
    if (std::none_of(known.begin(), known.end(),
                     [&key](const char* k) { return key == k; })) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": unknown field \"", key, "\""));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<absl::Duration> DurationField(const YAML::Node& node,
                                             const std::string& where,
                                             absl::string_view field) {
  if (!node.IsScalar()) return FieldError(where, field, "must be a duration");
  absl::StatusOr<absl::Duration> d = ParseConfigDuration(node.Scalar());
  if (!d.ok()) return FieldError(where, field, d.status().message());
  return *d;
}

absl::StatusOr<LockoutSpec> ParseLockout(const YAML::Node& node,
                                         const std::string& where) {
  const std::string lw = where + ".lockout";
  if (!node.IsMap()) {
    return absl::InvalidArgumentError(
        absl::StrCat(lw, ": must be a map {duration, multiplier, max}"));
  }
  GH_RETURN_IF_ERROR(CheckKnownFields(
      node, lw,
      {"duration", "multiplier", "max", "forget_after", "permanent_after"}));
  LockoutSpec spec;
  if (!node["duration"]) return FieldError(lw, "duration", "required");
  GH_ASSIGN_OR_RETURN(spec.duration,
                      DurationField(node["duration"], lw, "duration"));
  spec.max = spec.duration;
  if (node["multiplier"]) {
    double m = 0;
    if (!YAML::convert<double>::decode(node["multiplier"], m) ||
        !std::isfinite(m) || m < 1 || m > 100) {
      return FieldError(lw, "multiplier", "must be a number from 1 to 100");
    }
    spec.multiplier = m;
  }
  if (node["max"]) {
    GH_ASSIGN_OR_RETURN(spec.max, DurationField(node["max"], lw, "max"));
    if (spec.max < spec.duration) {
      return FieldError(lw, "max", "must be at least lockout.duration");
    }
  }
  if (node["forget_after"]) {
    GH_ASSIGN_OR_RETURN(spec.forget_after, DurationField(node["forget_after"],
                                                         lw, "forget_after"));
  }
  if (node["permanent_after"]) {
    int64_t n = 0;
    if (!YAML::convert<int64_t>::decode(node["permanent_after"], n) || n < 1 ||
        n > kMaxPermanentAfter) {
      return FieldError(lw, "permanent_after",
                        "must be an integer from 1 to 1000000 (offences)");
    }
    spec.permanent_after = static_cast<uint32_t>(n);
  }
  return spec;
}

constexpr size_t kMaxEnvoyEntries = 16;
constexpr size_t kMaxEnvoyStringBytes = 256;

// A non-empty string of at most kMaxEnvoyStringBytes.
absl::StatusOr<std::string> EnvoyString(const YAML::Node& node,
                                        const std::string& where,
                                        absl::string_view field) {
  if (!node) return FieldError(where, field, "required");
  if (!node.IsScalar() || node.Scalar().empty() ||
      node.Scalar().size() > kMaxEnvoyStringBytes) {
    return FieldError(where, field, "must be a string of 1..256 bytes");
  }
  return node.Scalar();
}

// The `envoy` section of policy `p` (dimensions already parsed).
absl::StatusOr<EnvoyMapping> ParseEnvoy(const YAML::Node& node, const Policy& p,
                                        const std::string& where) {
  const std::string ew = where + ".envoy";
  if (!node.IsMap()) {
    return absl::InvalidArgumentError(
        absl::StrCat(ew, ": must be a map {domain, descriptor}"));
  }
  GH_RETURN_IF_ERROR(CheckKnownFields(node, ew, {"domain", "descriptor"}));
  EnvoyMapping m;
  GH_ASSIGN_OR_RETURN(m.domain, EnvoyString(node["domain"], ew, "domain"));
  const YAML::Node list = node["descriptor"];
  if (!list || !list.IsSequence() || list.size() == 0 ||
      list.size() > kMaxEnvoyEntries) {
    return FieldError(ew, "descriptor",
                      "required: a list of 1..16 entries {key, value} or "
                      "{key, dimension}");
  }
  std::set<std::string> mapped;
  for (size_t i = 0; i < list.size(); ++i) {
    const YAML::Node entry = list[i];
    const std::string iw = absl::StrCat(ew, ".descriptor[", i, "]");
    if (!entry.IsMap()) {
      return absl::InvalidArgumentError(
          absl::StrCat(iw, ": must be a map {key, value} or {key, dimension}"));
    }
    GH_RETURN_IF_ERROR(
        CheckKnownFields(entry, iw, {"key", "value", "dimension"}));
    EnvoyEntryMapping e;
    GH_ASSIGN_OR_RETURN(e.key, EnvoyString(entry["key"], iw, "key"));
    if (entry["value"] && entry["dimension"]) {
      return absl::InvalidArgumentError(
          absl::StrCat(iw, ": value and dimension exclude each other"));
    }
    if (entry["value"]) {
      GH_ASSIGN_OR_RETURN(e.value, EnvoyString(entry["value"], iw, "value"));
    } else {
      GH_ASSIGN_OR_RETURN(e.dimension,
                          EnvoyString(entry["dimension"], iw, "dimension"));
      if (!std::binary_search(p.dimensions.begin(), p.dimensions.end(),
                              e.dimension)) {
        return FieldError(iw, "dimension",
                          absl::StrCat("\"", e.dimension,
                                       "\" is not a dimension of the policy"));
      }
      if (!mapped.insert(e.dimension).second) {
        return FieldError(
            iw, "dimension",
            absl::StrCat("\"", e.dimension,
                         "\" is already mapped by another entry"));
      }
    }
    m.entries.push_back(std::move(e));
  }
  for (const std::string& dim : p.dimensions) {
    if (mapped.count(dim) == 0) {
      return FieldError(
          ew, "descriptor",
          absl::StrCat("no entry maps dimension \"", dim, "\" of the policy"));
    }
  }
  return m;
}

// An `exempt` list: prefixes, each a string. `where` is "policies[2]
// (login_ip).exempt" or "exempt"; errors name the entry by index.
absl::StatusOr<std::shared_ptr<const IpPrefixTable>> ParseExempt(
    const YAML::Node& node, const std::string& where) {
  if (!node.IsSequence()) {
    return absl::InvalidArgumentError(absl::StrCat(
        where,
        ": must be a list of networks, e.g. [10.0.0.0/8, \"2001:db8::/32\"]"));
  }
  std::vector<IpPrefixTable::Entry> entries;
  std::map<std::string, size_t> seen;
  for (size_t i = 0; i < node.size(); ++i) {
    const std::string at = absl::StrCat(where, "[", i, "]");
    if (!node[i].IsScalar()) {
      return absl::InvalidArgumentError(
          absl::StrCat(at, ": must be a network such as 10.0.0.0/8"));
    }
    absl::StatusOr<IpPrefix> prefix = ParseIpPrefix(node[i].Scalar());
    if (!prefix.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(at, ": ", prefix.status().message()));
    }
    auto [it, inserted] = seen.emplace(prefix->text, i);
    if (!inserted) {
      return absl::InvalidArgumentError(absl::StrCat(
          at, ": ", prefix->text, " repeats ", where, "[", it->second, "]"));
    }
    entries.push_back({*std::move(prefix), ""});
  }
  return std::make_shared<const IpPrefixTable>(std::move(entries));
}

// A `deny` list: maps {cidr, reason}.
absl::StatusOr<std::shared_ptr<const IpPrefixTable>> ParseDeny(
    const YAML::Node& node, const std::string& where) {
  if (!node.IsSequence()) {
    return absl::InvalidArgumentError(absl::StrCat(
        where, ": must be a list of {cidr: 198.51.100.0/24, reason: \"...\"}"));
  }
  std::vector<IpPrefixTable::Entry> entries;
  std::map<std::string, size_t> seen;
  for (size_t i = 0; i < node.size(); ++i) {
    const std::string at = absl::StrCat(where, "[", i, "]");
    const YAML::Node& entry = node[i];
    if (!entry.IsMap()) {
      return absl::InvalidArgumentError(
          absl::StrCat(at, ": must be a map {cidr, reason}"));
    }
    GH_RETURN_IF_ERROR(CheckKnownFields(entry, at, {"cidr", "reason"}));
    if (!entry["cidr"] || !entry["cidr"].IsScalar()) {
      return FieldError(at, "cidr",
                        "required: a network such as 198.51.100.0/24");
    }
    absl::StatusOr<IpPrefix> prefix = ParseIpPrefix(entry["cidr"].Scalar());
    if (!prefix.ok()) return FieldError(at, "cidr", prefix.status().message());
    auto [it, inserted] = seen.emplace(prefix->text, i);
    if (!inserted) {
      return FieldError(
          at, "cidr",
          absl::StrCat(prefix->text, " repeats ", where, "[", it->second, "]"));
    }
    if (!entry["reason"] || !entry["reason"].IsScalar() ||
        entry["reason"].Scalar().empty()) {
      return FieldError(at, "reason", "required: why the network is denied");
    }
    const std::string& reason = entry["reason"].Scalar();
    if (reason.size() > kMaxDenyReasonBytes || !IsCleanUtf8(reason)) {
      return FieldError(at, "reason",
                        "must be at most 256 bytes of UTF-8 without control "
                        "characters");
    }
    entries.push_back({*std::move(prefix), reason});
  }
  return std::make_shared<const IpPrefixTable>(std::move(entries));
}

// The top level's lists, applied to every policy with an ip dimension.
struct TopLevelNetworks {
  std::shared_ptr<const IpPrefixTable> exempt;
  std::shared_ptr<const IpPrefixTable> deny;
};

absl::StatusOr<Policy> ParsePolicy(const YAML::Node& node, size_t index,
                                   std::string where,
                                   const TopLevelNetworks& top) {
  if (!node.IsMap()) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": must be a map"));
  }
  Policy p;
  if (!node["name"] || !node["name"].IsScalar()) {
    return FieldError(where, "name", "required");
  }
  p.name = node["name"].Scalar();
  if (!IsIdentifier(p.name)) {
    return FieldError(where, "name", "must be 1..64 characters of [a-z0-9_]");
  }
  where = absl::StrCat("policies[", index, "] (", p.name, ")");
  GH_RETURN_IF_ERROR(CheckKnownFields(
      node, where,
      {"name", "description", "dimensions", "limit", "window", "buckets",
       "lockout", "mode", "ip_prefix", "exempt", "deny", "envoy"}));

  const YAML::Node dims = node["dimensions"];
  if (!dims || !dims.IsSequence() || dims.size() == 0) {
    return FieldError(where, "dimensions", "required: a non-empty list");
  }
  if (dims.size() > kMaxDimensions) {
    return FieldError(where, "dimensions",
                      absl::StrCat("at most ", kMaxDimensions));
  }
  for (const YAML::Node& d : dims) {
    if (!d.IsScalar() || !IsIdentifier(d.Scalar())) {
      return FieldError(where, "dimensions",
                        "names must be 1..64 characters of [a-z0-9_]");
    }
    p.dimensions.push_back(d.Scalar());
  }
  std::sort(p.dimensions.begin(), p.dimensions.end());
  if (std::adjacent_find(p.dimensions.begin(), p.dimensions.end()) !=
      p.dimensions.end()) {
    return FieldError(where, "dimensions", "duplicate name");
  }

  if (!node["limit"]) return FieldError(where, "limit", "required");
  {
    int64_t limit = 0;
    if (!YAML::convert<int64_t>::decode(node["limit"], limit) || limit < 1 ||
        static_cast<uint64_t>(limit) > kMaxLimit) {
      return FieldError(where, "limit", "must be an integer from 1 to 1e9");
    }
    p.limit = static_cast<uint64_t>(limit);
  }

  if (!node["window"]) return FieldError(where, "window", "required");
  GH_ASSIGN_OR_RETURN(p.window, DurationField(node["window"], where, "window"));
  if (p.window < absl::Seconds(1) || p.window > absl::Hours(24 * 400)) {
    return FieldError(where, "window", "must be from 1s to 400d");
  }

  if (node["buckets"]) {
    int b = 0;
    if (!YAML::convert<int>::decode(node["buckets"], b) || b < 1 ||
        b > kMaxBuckets) {
      return FieldError(where, "buckets", "must be an integer from 1 to 3600");
    }
    p.buckets = b;
  }

  if (node["lockout"]) {
    GH_ASSIGN_OR_RETURN(p.lockout, ParseLockout(node["lockout"], where));
  }

  if (node["ip_prefix"]) {
    const YAML::Node prefix = node["ip_prefix"];
    const std::string pw = where + ".ip_prefix";
    if (!prefix.IsMap()) {
      return absl::InvalidArgumentError(
          absl::StrCat(pw, ": must be a map {ipv4: 0..32, ipv6: 0..128}"));
    }
    GH_RETURN_IF_ERROR(CheckKnownFields(prefix, pw, {"ipv4", "ipv6"}));
    if (prefix["ipv4"] &&
        (!YAML::convert<int>::decode(prefix["ipv4"], p.ipv4_prefix) ||
         p.ipv4_prefix < 0 || p.ipv4_prefix > 32)) {
      return FieldError(pw, "ipv4", "must be an integer from 0 to 32");
    }
    if (prefix["ipv6"] &&
        (!YAML::convert<int>::decode(prefix["ipv6"], p.ipv6_prefix) ||
         p.ipv6_prefix < 0 || p.ipv6_prefix > 128)) {
      return FieldError(pw, "ipv6", "must be an integer from 0 to 128");
    }
  }

  const bool has_ip = std::binary_search(
      p.dimensions.begin(), p.dimensions.end(), std::string(kIpDimension));
  for (const char* field : {"exempt", "deny"}) {
    if (!node[field]) continue;
    if (!has_ip) {
      return FieldError(where, field,
                        "needs an ip dimension, whose value it matches");
    }
    const std::string fw = absl::StrCat(where, ".", field);
    std::shared_ptr<const IpPrefixTable> table;
    if (std::string(field) == "exempt") {
      GH_ASSIGN_OR_RETURN(table, ParseExempt(node[field], fw));
      if (!table->empty()) p.exempt.push_back(std::move(table));
    } else {
      GH_ASSIGN_OR_RETURN(table, ParseDeny(node[field], fw));
      if (!table->empty()) p.deny.push_back(std::move(table));
    }
  }
  if (has_ip && top.exempt != nullptr) p.exempt.push_back(top.exempt);
  if (has_ip && top.deny != nullptr) p.deny.push_back(top.deny);

  if (node["mode"]) {
    const std::string mode =
        node["mode"].IsScalar() ? node["mode"].Scalar() : "";
    if (mode == "enforce") {
      p.mode = PolicyMode::kEnforce;
    } else if (mode == "shadow") {
      p.mode = PolicyMode::kShadow;
    } else {
      return FieldError(where, "mode", "must be enforce or shadow");
    }
  }

  if (node["envoy"]) {
    GH_ASSIGN_OR_RETURN(p.envoy, ParseEnvoy(node["envoy"], p, where));
  }
  return p;
}

absl::StatusOr<std::shared_ptr<const PolicySet>> ParseRoot(
    const YAML::Node& root) {
  if (!root.IsMap()) {
    return absl::InvalidArgumentError("top level must be a map with policies");
  }
  GH_RETURN_IF_ERROR(
      CheckKnownFields(root, "top level",
                       {"personal_dimensions", "policies", "exempt", "deny"}));
  TopLevelNetworks top;
  if (root["exempt"]) {
    GH_ASSIGN_OR_RETURN(top.exempt, ParseExempt(root["exempt"], "exempt"));
    if (top.exempt->empty()) top.exempt = nullptr;
  }
  if (root["deny"]) {
    GH_ASSIGN_OR_RETURN(top.deny, ParseDeny(root["deny"], "deny"));
    if (top.deny->empty()) top.deny = nullptr;
  }
  std::set<std::string> personal = PolicySet::DefaultPersonalDimensions();
  if (root["personal_dimensions"]) {
    const YAML::Node list = root["personal_dimensions"];
    if (!list.IsSequence()) {
      return absl::InvalidArgumentError(
          "personal_dimensions: must be a list of dimension names ([] for "
          "none)");
    }
    personal.clear();
    for (const YAML::Node& d : list) {
      if (!d.IsScalar() || !IsIdentifier(d.Scalar())) {
        return absl::InvalidArgumentError(
            "personal_dimensions: names must be 1..64 characters of [a-z0-9_]");
      }
      personal.insert(d.Scalar());
    }
  }
  const YAML::Node list = root["policies"];
  if (!list || !list.IsSequence() || list.size() == 0) {
    return absl::InvalidArgumentError("policies: required: a non-empty list");
  }
  if (list.size() > kMaxPolicies) {
    return absl::InvalidArgumentError(
        absl::StrCat("policies: at most ", kMaxPolicies));
  }
  std::vector<Policy> policies;
  std::set<std::string> names;
  std::vector<std::pair<std::string, EnvoyMapping>> envoy;
  std::vector<std::string> envoy_where;
  for (size_t i = 0; i < list.size(); ++i) {
    GH_ASSIGN_OR_RETURN(
        Policy p,
        ParsePolicy(list[i], i, absl::StrCat("policies[", i, "]"), top));
    if (!names.insert(p.name).second) {
      return absl::InvalidArgumentError(absl::StrCat(
          "policies[", i, "] (", p.name, ").name: duplicate policy name"));
    }
    if (p.envoy.has_value()) {
      envoy.emplace_back(p.name, *p.envoy);
      envoy_where.push_back(
          absl::StrCat("policies[", i, "] (", p.name, ").envoy"));
    }
    policies.push_back(std::move(p));
  }
  GH_RETURN_IF_ERROR(CheckEnvoyMappings(envoy, envoy_where));
  return std::make_shared<const PolicySet>(std::move(policies),
                                           std::move(personal));
}

}  // namespace

absl::StatusOr<std::shared_ptr<const PolicySet>> ParsePolicyYaml(
    absl::string_view yaml, absl::string_view source) {
  // yaml-cpp reports errors by exception; they stop here.
  absl::StatusOr<std::shared_ptr<const PolicySet>> result;
  absl::StatusOr<YAML::Node> root = ParseYamlDocument(yaml);
  try {
    result = root.ok() ? ParseRoot(*root) : root.status();
  } catch (const YAML::Exception& e) {
    result = absl::InvalidArgumentError(
        absl::StrCat("line ", e.mark.line + 1, ": ", e.msg));
  }
  if (!result.ok()) {
    return absl::Status(result.status().code(),
                        absl::StrCat(source, ": ", result.status().message()));
  }
  return result;
}

absl::StatusOr<std::shared_ptr<const PolicySet>> LoadPolicyFile(
    const std::string& path) {
  absl::StatusOr<std::string> text =
      ReadConfigFile(path, kMaxPolicyFileBytes, "policy file");
  if (!text.ok()) return text.status();
  return ParsePolicyYaml(*text, path);
}

}  // namespace gatehouse
