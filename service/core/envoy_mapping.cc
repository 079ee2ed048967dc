#include "service/core/envoy_mapping.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace gatehouse {
namespace {

std::vector<std::string_view> KeysOf(const EnvoyMapping& mapping) {
  std::vector<std::string_view> keys;
  keys.reserve(mapping.entries.size());
  for (const EnvoyEntryMapping& e : mapping.entries) keys.push_back(e.key);
  return keys;
}

// Whether one descriptor could match both (same shape assumed).
bool Overlap(const EnvoyMapping& a, const EnvoyMapping& b) {
  for (size_t i = 0; i < a.entries.size(); ++i) {
    const auto& x = a.entries[i].value;
    const auto& y = b.entries[i].value;
    if (x.has_value() && y.has_value() && *x != *y) return false;
  }
  return true;
}

}  // namespace

std::string EnvoyIndex::ShapeOf(std::string_view domain,
                                const std::vector<std::string_view>& keys) {
  std::string shape(domain);
  shape.push_back('\0');
  for (std::string_view k : keys) {
    shape.append(k);
    shape.push_back('\0');
  }
  return shape;
}

EnvoyIndex::EnvoyIndex(
    const std::vector<std::pair<std::string, EnvoyMapping>>& mappings) {
  for (const auto& [policy, mapping] : mappings) {
    by_shape_[ShapeOf(mapping.domain, KeysOf(mapping))].emplace_back(policy,
                                                                     mapping);
    domains_.insert(mapping.domain);
  }
}

bool EnvoyIndex::HasDomain(std::string_view domain) const {
  return domains_.find(domain) != domains_.end();
}

std::optional<EnvoyMatch> EnvoyIndex::Find(std::string_view domain,
                                           const EnvoyEntries& entries) const {
  std::vector<std::string_view> keys;
  keys.reserve(entries.size());
  for (const auto& [key, value] : entries) keys.push_back(key);
  auto it = by_shape_.find(ShapeOf(domain, keys));
  if (it == by_shape_.end()) return std::nullopt;
  for (const auto& [policy, mapping] : it->second) {
    EnvoyMatch match;
    bool matched = true;
    for (size_t i = 0; i < entries.size() && matched; ++i) {
      const EnvoyEntryMapping& m = mapping.entries[i];
      if (m.value.has_value()) {
        matched = *m.value == entries[i].second;
      } else {
        match.key[m.dimension] = entries[i].second;
        match.entry_of[m.dimension] = i;
      }
    }
    if (matched) {
      match.policy = policy;
      return match;
    }
  }
  return std::nullopt;
}

absl::Status CheckEnvoyMappings(
    const std::vector<std::pair<std::string, EnvoyMapping>>& mappings,
    const std::vector<std::string>& where) {
  for (size_t i = 0; i < mappings.size(); ++i) {
    const EnvoyMapping& a = mappings[i].second;
    for (size_t j = 0; j < i; ++j) {
      const EnvoyMapping& b = mappings[j].second;
      if (a.domain != b.domain || KeysOf(a) != KeysOf(b) || !Overlap(a, b)) {
        continue;
      }
      return absl::InvalidArgumentError(absl::StrCat(
          where[i], ": matches the same descriptors as policy ",
          mappings[j].first, " (domain ", a.domain, ", entries ",
          absl::StrJoin(a.entries, ", ",
                        [](std::string* out, const EnvoyEntryMapping& e) {
                          out->append(e.key);
                        }),
          "); give one of them a different domain, key or fixed value"));
    }
  }
  return absl::OkStatus();
}

}  // namespace gatehouse
