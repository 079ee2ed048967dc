#include "service/core/pseudonymizer.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstdint>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace gatehouse {
namespace {

constexpr char kKey[] = "gatehouse-test-key";

// RFC 4648 base32, lower case, no padding; written here independently of
// the code under test.
std::string Base32(const unsigned char* data, size_t n) {
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
  std::string out;
  for (size_t bit = 0; bit < n * 8; bit += 5) {
    int value = 0;
    for (size_t b = bit; b < bit + 5; ++b) {
      const int set = b < n * 8 ? (data[b / 8] >> (7 - b % 8)) & 1 : 0;
      value = (value << 1) | set;
    }
    out.push_back(kAlphabet[value]);
  }
  return out;
}

// "p_" + base32 of the first 16 bytes of HMAC-SHA-256(key, dim \0 value).
std::string Reference(const std::string& key, const std::string& dimension,
                      const std::string& value) {
  const std::string message = dimension + std::string(1, '\0') + value;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(),
       mac, &mac_len);
  EXPECT_EQ(mac_len, 32u);
  return "p_" + Base32(mac, 16);
}

bool IsBase32Lower(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '2' && c <= '7');
}

TEST(PseudonymizerTest, MatchesAKnownAnswer) {
  // printf 'user\0alice@example.com' |
  //   openssl dgst -sha256 -hmac gatehouse-test-key -binary |
  //   head -c 16 | base32 | tr A-Z a-z
  const Pseudonymizer p(kKey);
  EXPECT_EQ(p.Pseudonym("user", "alice@example.com"),
            "p_q6j5wsi24r44zqjs6ja6c4dlei");
}

TEST(PseudonymizerTest, MatchesAnIndependentHmacForManyInputs) {
  const Pseudonymizer p(kKey);
  for (const std::string& value :
       {std::string("a"), std::string("bob"), std::string("203.0.113.7"),
        std::string("J\xc3\xb6rg"), std::string(256, 'x')}) {
    for (const std::string& dim : {std::string("user"), std::string("email")}) {
      SCOPED_TRACE(absl::StrCat(dim, "=", value));
      EXPECT_EQ(p.Pseudonym(dim, value), Reference(kKey, dim, value));
    }
  }
}

TEST(PseudonymizerTest, IsStableForOneKey) {
  const Pseudonymizer a(kKey);
  const Pseudonymizer b(kKey);
  const std::string first = a.Pseudonym("user", "alice@example.com");
  EXPECT_EQ(a.Pseudonym("user", "alice@example.com"), first);
  EXPECT_EQ(b.Pseudonym("user", "alice@example.com"), first);
}

TEST(PseudonymizerTest, DiffersWithKeyDimensionAndValue) {
  const Pseudonymizer p(kKey);
  const std::string base = p.Pseudonym("user", "alice@example.com");
  EXPECT_NE(Pseudonymizer("another-key").Pseudonym("user", "alice@example.com"),
            base);
  EXPECT_NE(p.Pseudonym("email", "alice@example.com"), base);
  EXPECT_NE(p.Pseudonym("user", "alice@example.org"), base);
  EXPECT_NE(p.Pseudonym("user", "Alice@example.com"), base);
  // The separator keeps dimension and value apart.
  EXPECT_NE(p.Pseudonym("ab", "c"), p.Pseudonym("a", "bc"));
}

TEST(PseudonymizerTest, IsPPrefixPlusTwentySixBase32Characters) {
  const Pseudonymizer p(kKey);
  std::set<std::string> seen;
  for (int i = 0; i < 500; ++i) {
    const std::string out = p.Pseudonym("user", absl::StrCat("user", i));
    ASSERT_EQ(out.size(), 28u) << out;
    EXPECT_EQ(out.substr(0, 2), "p_");
    for (char c : out.substr(2)) {
      EXPECT_TRUE(IsBase32Lower(c)) << out;
    }
    // 128 bits end on a partial group: the last character carries 3 bits,
    // padded with zeros, so it is a multiple of 4 in the alphabet.
    EXPECT_NE(std::string("aeimquy4").find(out.back()), std::string::npos)
        << out;
    seen.insert(out);
  }
  EXPECT_EQ(seen.size(), 500u);
}

}  // namespace
}  // namespace gatehouse
