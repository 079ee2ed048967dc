#include "service/core/pseudonymizer.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace gatehouse {

std::string Pseudonymizer::Pseudonym(absl::string_view dimension,
                                     absl::string_view value) const {
  std::string message;
  message.reserve(dimension.size() + 1 + value.size());
  message.append(dimension.data(), dimension.size());
  message.push_back('\0');
  message.append(value.data(), value.size());
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(),
       mac, &mac_len);
  // 128 bits in base32: 26 characters.
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
  std::string out = "p_";
  uint32_t buffer = 0;
  int bits = 0;
  for (int i = 0; i < 16; ++i) {
    buffer = (buffer << 8) | mac[i];
    bits += 8;
    while (bits >= 5) {
      out.push_back(kAlphabet[(buffer >> (bits - 5)) & 31]);
      bits -= 5;
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(buffer << (5 - bits)) & 31]);
  return out;
}

}  // namespace gatehouse
