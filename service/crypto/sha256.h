#ifndef GATEHOUSE_SERVICE_CRYPTO_SHA256_H_
#define GATEHOUSE_SERVICE_CRYPTO_SHA256_H_

#include <openssl/types.h>

#include <array>
#include <cstdint>
#include <initializer_list>
#include <string>

#include "absl/strings/string_view.h"

namespace gatehouse {

// SHA-256 and HMAC-SHA-256 (OpenSSL) for the per-call paths: every call's
// bearer token is hashed, every personal dimension pseudonymised.
//
// OpenSSL 3's one-shot SHA256() and HMAC() look their algorithms up by name
// in a global, locked table on every call (EVP_MD_fetch, EVP_MAC_fetch):
// ~10% of a Peek's server CPU (bench/RESULTS.md). Here SHA-256 is fetched
// once per process, and HmacSha256 absorbs its key once.

using Sha256Digest = std::array<uint8_t, 32>;

// SHA-256 of `data`. Thread-safe.
Sha256Digest Sha256(absl::string_view data);

// Lower-case hex, 64 characters (how credentials files hold token hashes).
std::string HexEncode(const Sha256Digest& digest);

// HMAC-SHA-256 (RFC 2104) under one key. Immutable after construction;
// thread-safe.
class HmacSha256 {
 public:
  // Any key length; keys longer than the block (64 bytes) are hashed first,
  // as RFC 2104 says.
  explicit HmacSha256(absl::string_view key);
  ~HmacSha256();

  HmacSha256(const HmacSha256&) = delete;
  HmacSha256& operator=(const HmacSha256&) = delete;

  // The MAC of the concatenation of `parts`.
  Sha256Digest Mac(std::initializer_list<absl::string_view> parts) const;

 private:
  // SHA-256 states that have absorbed key^ipad and key^opad, set by the
  // constructor and read-only after it; each Mac starts from copies. The
  // key itself is not kept.
  EVP_MD_CTX* inner_;
  EVP_MD_CTX* outer_;
};

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_CRYPTO_SHA256_H_
