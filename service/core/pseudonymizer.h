#ifndef GATEHOUSE_SERVICE_CORE_PSEUDONYMIZER_H_
#define GATEHOUSE_SERVICE_CORE_PSEUDONYMIZER_H_

#include <string>

#include "absl/strings/string_view.h"
#include "service/crypto/sha256.h"

namespace gatehouse {

// Replaces values that identify a person (emails, user names) by a keyed
// pseudonym: "p_" + the first 128 bits of
// HMAC-SHA-256(key, dimension || 0x00 || value), base32 (lower case, no
// padding). Stable for a key, so an operator can find one user's events
// (`gatehousectl pseudonym`), and not reversible without brute force over
// candidate values *and* the key.
//
// Immutable after construction; thread-safe.
class Pseudonymizer {
 public:
  // REQUIRES: `key` non-empty (strength is checked at start-up).
  explicit Pseudonymizer(absl::string_view key) : hmac_(key) {}

  std::string Pseudonym(absl::string_view dimension,
                        absl::string_view value) const;

 private:
  const HmacSha256 hmac_;
};

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_CORE_PSEUDONYMIZER_H_
