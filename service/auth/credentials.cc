#include "service/auth/credentials.h"

#include <openssl/crypto.h>
#include <yaml-cpp/yaml.h>

#include "absl/strings/str_cat.h"
#include "service/config/config_file.h"
#include "service/config/yaml_document.h"

namespace gatehouse {
namespace {

constexpr std::pair<const char*, Scope> kScopes[] = {
    {"check", Scope::kCheck},   {"peek", Scope::kPeek},
    {"record", Scope::kRecord}, {"reset", Scope::kReset},
    {"audit", Scope::kAudit},   {"admin", Scope::kAdmin}};

std::optional<TokenHash> ParseHex(const std::string& hex) {
  if (hex.size() != 64) return std::nullopt;
  TokenHash out;
  for (size_t i = 0; i < 32; ++i) {
    int v = 0;
    for (int j = 0; j < 2; ++j) {
      char c = hex[2 * i + j];
      int d = (c >= '0' && c <= '9')   ? c - '0'
              : (c >= 'a' && c <= 'f') ? c - 'a' + 10
              : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                       : -1;
      if (d < 0) return std::nullopt;
      v = v * 16 + d;
    }
    out[i] = static_cast<uint8_t>(v);
  }
  return out;
}

absl::StatusOr<std::vector<ClientIdentity>> ParseClients(
    const YAML::Node& root) {
  if (!root.IsMap() || !root["clients"] || !root["clients"].IsSequence()) {
    return absl::InvalidArgumentError("clients: required: a list");
  }
  for (const auto& entry : root) {
    if (entry.first.as<std::string>() != "clients") {
      return absl::InvalidArgumentError(absl::StrCat(
          "top level: unknown field \"", entry.first.as<std::string>(), "\""));
    }
  }
  std::vector<ClientIdentity> clients;
  std::set<std::string> ids;
  std::set<TokenHash> hashes;
  const YAML::Node list = root["clients"];
  for (size_t i = 0; i < list.size(); ++i) {
    const YAML::Node c = list[i];
    std::string where = absl::StrCat("clients[", i, "]");
    if (!c.IsMap()) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": must be a map"));
    }
    ClientIdentity client;
    if (!c["id"] || !c["id"].IsScalar() || c["id"].Scalar().empty()) {
      return absl::InvalidArgumentError(absl::StrCat(where, ".id: required"));
    }
    client.id = c["id"].Scalar();
    where = absl::StrCat(where, " (", client.id, ")");
    if (!ids.insert(client.id).second) {
      return absl::InvalidArgumentError(absl::StrCat(where, ".id: duplicate"));
    }
    for (const auto& field : c) {
      const std::string name = field.first.as<std::string>();
      if (name != "id" && name != "token_sha256" && name != "scopes" &&
          name != "policies") {
        return absl::InvalidArgumentError(
            absl::StrCat(where, ": unknown field \"", name, "\""));
      }
    }
    const YAML::Node tokens = c["token_sha256"];
    if (!tokens || !tokens.IsSequence() || tokens.size() == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ".token_sha256: required: a non-empty list"));
    }
    for (const YAML::Node& t : tokens) {
      std::optional<TokenHash> h =
          t.IsScalar() ? ParseHex(t.Scalar()) : std::nullopt;
      if (!h) {
        return absl::InvalidArgumentError(absl::StrCat(
            where, ".token_sha256: entries must be 64 hex characters"));
      }
      if (!hashes.insert(*h).second) {
        return absl::InvalidArgumentError(absl::StrCat(
            where, ".token_sha256: hash already used by another entry"));
      }
      client.token_hashes.push_back(*h);
    }
    const YAML::Node scopes = c["scopes"];
    if (!scopes || !scopes.IsSequence() || scopes.size() == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ".scopes: required: a non-empty list"));
    }
    for (const YAML::Node& s : scopes) {
      const std::string name = s.IsScalar() ? s.Scalar() : "";
      bool found = false;
      for (const auto& [scope_name, scope] : kScopes) {
        if (name == scope_name) {
          client.scopes.insert(scope);
          found = true;
        }
      }
      if (!found) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, ".scopes: unknown scope \"", name,
                         "\" (check, peek, record, reset, audit, admin)"));
      }
    }
    if (c["policies"]) {
      if (!c["policies"].IsSequence()) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, ".policies: must be a list"));
      }
      client.policies.emplace();
      for (const YAML::Node& p : c["policies"]) {
        client.policies->insert(p.as<std::string>());
      }
    }
    clients.push_back(std::move(client));
  }
  return clients;
}

}  // namespace

const char* ScopeName(Scope scope) {
  for (const auto& [name, s] : kScopes) {
    if (s == scope) return name;
  }
  return "unknown";
}

absl::StatusOr<std::shared_ptr<const Credentials>> Credentials::Parse(
    absl::string_view yaml, absl::string_view source) {
  absl::StatusOr<std::vector<ClientIdentity>> clients;
  absl::StatusOr<YAML::Node> root = ParseYamlDocument(yaml);
  try {  // yaml-cpp reports errors by exception; they stop here.
    clients = root.ok() ? ParseClients(*root) : root.status();
  } catch (const YAML::Exception& e) {
    clients = absl::InvalidArgumentError(
        absl::StrCat("line ", e.mark.line + 1, ": ", e.msg));
  }
  if (!clients.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": ", clients.status().message()));
  }
  return std::shared_ptr<const Credentials>(
      new Credentials(std::move(*clients)));
}

absl::StatusOr<std::shared_ptr<const Credentials>> Credentials::Load(
    const std::string& path) {
  absl::StatusOr<std::string> text =
      ReadConfigFile(path, kMaxCredentialsFileBytes, "credentials file");
  if (!text.ok()) return text.status();
  return Parse(*text, path);
}

std::vector<std::string> Credentials::Warnings(
    const PolicySet& policies) const {
  std::vector<std::string> warnings;
  if (clients_.empty()) {
    warnings.push_back("no clients: every call will be refused");
  }
  for (const ClientIdentity& client : clients_) {
    if (!client.policies.has_value()) continue;
    for (const std::string& name : *client.policies) {
      if (policies.Find(name) == nullptr) {
        warnings.push_back(
            absl::StrCat("client ", client.id, " names policy ", name,
                         ", which the policy file does not have"));
      }
    }
  }
  return warnings;
}

const ClientIdentity* Credentials::FindByToken(absl::string_view token) const {
  const TokenHash hash = Sha256(token);
  const ClientIdentity* found = nullptr;
  // Visit every hash whatever matches, so timing says nothing about which.
  for (const ClientIdentity& client : clients_) {
    for (const TokenHash& h : client.token_hashes) {
      if (CRYPTO_memcmp(h.data(), hash.data(), h.size()) == 0) found = &client;
    }
  }
  return found;
}

}  // namespace gatehouse
