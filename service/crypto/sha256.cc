#include "service/crypto/sha256.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cstdlib>
#include <cstring>

namespace gatehouse {
namespace {

constexpr size_t kBlockSize = 64;

// Fetched once; OpenSSL keeps it for the life of the process.
const EVP_MD* Sha256Md() {
  static const EVP_MD* const md = [] {
    EVP_MD* fetched = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    // Only a broken OpenSSL install lacks SHA-256; nothing could be
    // authenticated or pseudonymised without it.
    if (fetched == nullptr) std::abort();
    return fetched;
  }();
  return md;
}

// One reusable context per thread, so a hash does not create and free one.
EVP_MD_CTX* ThreadContext() {
  struct Holder {
    Holder() : ctx(EVP_MD_CTX_new()) {}
    ~Holder() { EVP_MD_CTX_free(ctx); }
    EVP_MD_CTX* const ctx;
  };
  thread_local Holder holder;
  return holder.ctx;
}

// OpenSSL fails these only on allocation failure or misuse.
void Check(int ok) {
  if (ok != 1) std::abort();
}

void Finish(EVP_MD_CTX* ctx, Sha256Digest& out) {
  unsigned int len = 0;
  Check(EVP_DigestFinal_ex(ctx, out.data(), &len));
}

void Update(EVP_MD_CTX* ctx, absl::string_view data) {
  Check(EVP_DigestUpdate(ctx, data.data(), data.size()));
}

// The key as one block: hashed if longer, zero-padded. Wiped when done,
// like every copy of key material made here.
struct KeyBlock {
  explicit KeyBlock(absl::string_view key) {
    std::memset(bytes, 0, kBlockSize);
    if (key.size() > kBlockSize) {
      Sha256Digest hashed = Sha256(key);
      std::memcpy(bytes, hashed.data(), hashed.size());
      OPENSSL_cleanse(hashed.data(), hashed.size());
    } else {
      std::memcpy(bytes, key.data(), key.size());
    }
  }
  ~KeyBlock() { OPENSSL_cleanse(bytes, kBlockSize); }
  KeyBlock(const KeyBlock&) = delete;
  KeyBlock& operator=(const KeyBlock&) = delete;
  uint8_t bytes[kBlockSize];
};

EVP_MD_CTX* KeyedState(const KeyBlock& key, uint8_t pad) {
  uint8_t padded[kBlockSize];
  for (size_t i = 0; i < kBlockSize; ++i) padded[i] = key.bytes[i] ^ pad;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (ctx == nullptr) std::abort();
  Check(EVP_DigestInit_ex(ctx, Sha256Md(), nullptr));
  Check(EVP_DigestUpdate(ctx, padded, kBlockSize));
  OPENSSL_cleanse(padded, kBlockSize);
  return ctx;
}

}  // namespace

std::string HexEncode(const Sha256Digest& digest) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * digest.size());
  for (uint8_t b : digest) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

Sha256Digest Sha256(absl::string_view data) {
  EVP_MD_CTX* ctx = ThreadContext();
  Check(EVP_DigestInit_ex(ctx, Sha256Md(), nullptr));
  Update(ctx, data);
  Sha256Digest out;
  Finish(ctx, out);
  return out;
}

HmacSha256::HmacSha256(absl::string_view key) {
  const KeyBlock block(key);
  inner_ = KeyedState(block, 0x36);
  outer_ = KeyedState(block, 0x5c);
}

HmacSha256::~HmacSha256() {
  EVP_MD_CTX_free(inner_);
  EVP_MD_CTX_free(outer_);
}

Sha256Digest HmacSha256::Mac(
    std::initializer_list<absl::string_view> parts) const {
  EVP_MD_CTX* ctx = ThreadContext();
  Check(EVP_MD_CTX_copy_ex(ctx, inner_));
  for (absl::string_view part : parts) Update(ctx, part);
  Sha256Digest inner_hash;
  Finish(ctx, inner_hash);
  Check(EVP_MD_CTX_copy_ex(ctx, outer_));
  Check(EVP_DigestUpdate(ctx, inner_hash.data(), inner_hash.size()));
  Sha256Digest out;
  Finish(ctx, out);
  return out;
}

}  // namespace gatehouse
