#ifndef GATEHOUSE_SERVICE_AUTH_CREDENTIALS_H_
#define GATEHOUSE_SERVICE_AUTH_CREDENTIALS_H_

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "service/core/policy.h"
#include "service/crypto/sha256.h"

namespace gatehouse {

enum class Scope { kCheck, kPeek, kRecord, kReset, kAudit, kAdmin };

const char* ScopeName(Scope scope);

// SHA-256 of a bearer token (`Sha256` in service/crypto/sha256.h).
using TokenHash = Sha256Digest;

// One caller of the service.
struct ClientIdentity {
  std::string id;
  // Several hashes at once let a token rotate without downtime.
  std::vector<TokenHash> token_hashes;
  std::set<Scope> scopes;
  // Policies the client may touch; nullopt means all.
  std::optional<std::set<std::string>> policies;
};

// The parsed credentials file: an immutable list of clients. Thread-safe.
//
//   clients:
//     - id: api-gateway
//       token_sha256: [<64 hex chars>, ...]   # sha256 of the bearer token
//       scopes: [check, peek, record, reset]  # audit, admin also exist
//       policies: [login_ip]                  # optional; all when absent
class Credentials {
 public:
  // INVALID_ARGUMENT naming the client index and field.
  static absl::StatusOr<std::shared_ptr<const Credentials>> Parse(
      absl::string_view yaml, absl::string_view source);
  static absl::StatusOr<std::shared_ptr<const Credentials>> Load(
      const std::string& path);

  // The client whose token hashes include sha256(token), compared in
  // constant time against every hash; nullptr when none.
  const ClientIdentity* FindByToken(absl::string_view token) const;

  const std::vector<ClientIdentity>& clients() const { return clients_; }

  // What an operator should hear about but the server can run with, checked
  // against the policies in force: a file with no clients (every call is
  // refused), and each client naming a policy `policies` does not have (its
  // calls to it get NOT_FOUND). One message per finding, in file order.
  std::vector<std::string> Warnings(const PolicySet& policies) const;

 private:
  explicit Credentials(std::vector<ClientIdentity> clients)
      : clients_(std::move(clients)) {}

  std::vector<ClientIdentity> clients_;
};

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_AUTH_CREDENTIALS_H_
