#include "service/core/pseudonymizer.h"

namespace gatehouse {

std::string Pseudonymizer::Pseudonym(absl::string_view dimension,
                                     absl::string_view value) const {
  const Sha256Digest mac =
      hmac_.Mac({dimension, absl::string_view("\0", 1), value});
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
