#ifndef GATEHOUSE_SERVICE_AUTH_AUTHENTICATOR_H_
#define GATEHOUSE_SERVICE_AUTH_AUTHENTICATOR_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "service/auth/credentials.h"
#include "service/auth/peer_allowlist.h"

namespace gatehouse {

// Who made a call, as far as authorization cares.
struct Caller {
  std::string client_id;
  // Policies the caller may use; nullopt means all.
  std::optional<std::set<std::string>> policies;
  // What the caller may do (kAdmin implies every scope).
  std::set<Scope> scopes;
};

// Why a call was refused, for metrics (never shown to the caller).
enum class AuthFailure {
  kNone,
  kMissingToken,
  kUnknownToken,
  kMissingScope,
  kPolicyNotAllowed,
  kPeerNotAllowed,
};

// "missing_token", "unknown_token", "missing_scope", "policy_not_allowed",
// "peer_not_allowed" (the gatehouse_auth_failures_total reasons), "none".
const char* AuthFailureName(AuthFailure failure);

// Decides whether a bearer token may use a scope on some policies.
//
// Thread-safe; the credentials can be replaced while calls are in flight
// (each call sees one consistent set).
class Authenticator {
 public:
  // With `peer_allowlist` set, every call must also come over mTLS from a
  // client certificate with an identity on the list.
  explicit Authenticator(std::shared_ptr<const Credentials> credentials,
                         std::optional<PeerAllowlist> peer_allowlist = {});

  // Constant after construction.
  const std::optional<PeerAllowlist>& peer_allowlist() const {
    return peer_allowlist_;
  }

  // `authorization` is the raw metadata value ("Bearer <token>").
  // UNAUTHENTICATED when missing, malformed or unknown; PERMISSION_DENIED
  // when the client lacks `scope` (admin implies every scope) or any of
  // `policies` is outside its allowed set.
  // When refused and `failure` is not null, *failure says why.
  // Authenticate() followed by Permit().
  absl::StatusOr<Caller> Authorize(absl::string_view authorization, Scope scope,
                                   const std::vector<std::string>& policies,
                                   AuthFailure* failure = nullptr) const;

  // Identifies the caller only, for a call carrying several operations that
  // are each checked with Permit(). UNAUTHENTICATED when the token is
  // missing, malformed or unknown.
  absl::StatusOr<Caller> Authenticate(absl::string_view authorization,
                                      AuthFailure* failure = nullptr) const;

  // OK when `caller` may use `scope` on every one of `policies`;
  // PERMISSION_DENIED saying which is missing otherwise.
  static absl::Status Permit(const Caller& caller, Scope scope,
                             const std::vector<std::string>& policies,
                             AuthFailure* failure = nullptr);

  // Replaces the credentials; calls after it see the new ones, and
  // generation() changes.
  void SetCredentials(std::shared_ptr<const Credentials> credentials);
  // The credentials in force.
  std::shared_ptr<const Credentials> credentials() const;

  // Changes on every SetCredentials(), so that a long-lived stream admitted
  // under one set can tell cheaply when to authorize its caller again.
  uint64_t generation() const {
    return generation_.load(std::memory_order_acquire);
  }

 private:
  const std::optional<PeerAllowlist> peer_allowlist_;
  mutable absl::Mutex mu_;
  std::shared_ptr<const Credentials> credentials_ ABSL_GUARDED_BY(mu_);
  std::atomic<uint64_t> generation_{0};
};

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_AUTH_AUTHENTICATOR_H_
