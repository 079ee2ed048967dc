#include "service/auth/secret_strength.h"

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace gatehouse {
namespace {

constexpr char kWhat[] = "--pseudonym_key_file";

// Real outputs of `openssl rand -hex 32`, `openssl rand -base64 32` and the
// README's `head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n'`.
constexpr const char* kRealSecrets[] = {
    "d64ca7e442f102d49e91b57450a534172918ff44533b172a3c22f2131d6ee939",
    "7e884734ab2aab06471f84c2cd6f4bab482936122ebee73f7f9e3528cc78a1a0",
    "668ca47a768b67d2afe5bf9d4c727ccb8bbf44abcecadee055cd88bc28d12fb4",
    "Fy2GNLQin8fA5vOh+AW5PeDaM6H4mEx+rpjRXGe2ftI=",
    "Miu8DPGKjTRAvCw5k4DdWmQelWXcYH4Wn1vdmJ40Rgs=",
    "Zl0MnQcVpN/iQqiuU7LZ5GKxcS/vQnqKhfZdxaQNkSY=",
    "6OShJczV7YgbbJ7noPN0xqIl95Olvj5-wjF7s9fJ_Qc",
    "HVQKqJk0rSTdZzouYOiONW1kGAOkjwk4obyEC325Nj4",
    "VVcpJilB3GvQfSOM-xBuoSkv8pHzxQbteRt-9Cq77j0",
};

class RandomSecrets {
 public:
  explicit RandomSecrets(uint64_t seed) : rng_(seed) {}

  std::string Bytes(size_t n) {
    std::string out(n, '\0');
    for (char& c : out) c = static_cast<char>(rng_() & 0xff);
    return out;
  }
  // What `gatehousectl gen-secret` prints: URL-safe base64, no padding.
  std::string GenSecret() {
    std::string out;
    absl::WebSafeBase64Escape(Bytes(32), &out);
    return out;
  }
  std::string Hex() { return absl::BytesToHexString(Bytes(32)); }
  std::string Base64() { return absl::Base64Escape(Bytes(32)); }
  // `n` characters drawn uniformly from `alphabet`.
  std::string From(absl::string_view alphabet, size_t n) {
    std::string out;
    for (size_t i = 0; i < n; ++i)
      out.push_back(alphabet[rng_() % alphabet.size()]);
    return out;
  }

 private:
  std::mt19937_64 rng_;
};

void ExpectStrong(const std::string& secret) {
  const absl::Status status = CheckSecretStrength(secret, kWhat);
  EXPECT_TRUE(status.ok()) << status << " for " << secret << " ("
                           << AnalyzeSecret(secret).bits << " bits)";
}

// The secret is weak, and the error says so in the documented shape.
std::string ExpectWeak(const std::string& secret) {
  const absl::Status status = CheckSecretStrength(secret, kWhat);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument)
      << "accepted: " << secret << " (" << AnalyzeSecret(secret).bits
      << " bits)";
  const std::string message(status.message());
  EXPECT_TRUE(absl::StartsWith(message, "--pseudonym_key_file: weak secret: "))
      << message;
  EXPECT_TRUE(absl::StrContains(message, "gatehousectl gen-secret")) << message;
  return message;
}

TEST(SecretStrengthTest, AcceptsRealGeneratedSecrets) {
  for (const char* secret : kRealSecrets) ExpectStrong(secret);
}

TEST(SecretStrengthTest, AcceptsManyRandomSecretsOfEveryRecommendedForm) {
  RandomSecrets random(20240601);
  for (int i = 0; i < 2000; ++i) {
    const std::string gen = random.GenSecret();
    ASSERT_EQ(gen.size(), 43u);
    ExpectStrong(gen);
    ExpectStrong(random.Hex());
    ExpectStrong(random.Base64());
  }
}

TEST(SecretStrengthTest, RandomSecretsClearTheBarWithAWideMargin) {
  RandomSecrets random(7);
  double lowest_gen = 1e9, lowest_hex = 1e9, lowest_base64 = 1e9;
  for (int i = 0; i < 2000; ++i) {
    lowest_gen = std::min(lowest_gen, AnalyzeSecret(random.GenSecret()).bits);
    lowest_hex = std::min(lowest_hex, AnalyzeSecret(random.Hex()).bits);
    lowest_base64 =
        std::min(lowest_base64, AnalyzeSecret(random.Base64()).bits);
  }
  // 32 random bytes hold 256 bits; the estimate is conservative, but not so
  // much that chance brings a generated secret near the bar.
  EXPECT_GE(lowest_gen, kMinSecretBits + 40);
  EXPECT_GE(lowest_hex, kMinSecretBits + 40);
  EXPECT_GE(lowest_base64, kMinSecretBits + 40);
}

TEST(SecretStrengthTest, AcceptsRandomRawBytesAndLongRandomPasswords) {
  RandomSecrets random(99);
  const std::string alnum =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  const std::string printable =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
      "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
  for (int i = 0; i < 500; ++i) {
    ExpectStrong(random.Bytes(32));
    ExpectStrong(random.From(alnum, 40));
    ExpectStrong(random.From(printable, 36));
  }
}

TEST(SecretStrengthTest, AcceptsAStrongSecretThatHappensToContainAWord) {
  ExpectStrong(
      absl::StrCat("6OShJczV7YgbbJ7noPN0", "test", "xqIl95Olvj5-wjF7s9fJ_Qc"));
  ExpectStrong(absl::StrCat("admin-", kRealSecrets[0]));
}

TEST(SecretStrengthTest, RejectsEmptySecret) {
  EXPECT_TRUE(absl::StrContains(ExpectWeak(""), "empty"));
}

TEST(SecretStrengthTest, RejectsSecretsShorterThanTheMinimum) {
  RandomSecrets random(1);
  for (size_t n = 1; n < kMinSecretLength; ++n) {
    const std::string secret = random.GenSecret().substr(0, n);
    const std::string message = ExpectWeak(secret);
    EXPECT_TRUE(absl::StrContains(
        message, absl::StrCat(n, " characters, at least 32 required")))
        << message;
  }
  // 16 random bytes as hex is 32 characters but, by this conservative
  // estimate, fewer than 128 bits: the documented price of the margin.
  for (int i = 0; i < 200; ++i) {
    ExpectWeak(absl::BytesToHexString(random.Bytes(16)));
  }
}

TEST(SecretStrengthTest, AcceptsStrongSecretOfExactlyTheMinimumLength) {
  // The first 32 characters of a generated secret: 192 random bits.
  ExpectStrong(std::string(kRealSecrets[6]).substr(0, 32));
}

TEST(SecretStrengthTest, RejectsRepeatedSecrets) {
  RandomSecrets random(2);
  const std::vector<std::string> weak = {
      std::string(40, 'a'),
      std::string(10000, 'x'),
      "abcabcabcabcabcabcabcabcabcabcabcabcabc",
      "Xk9#mP2$vL7@nQ4!Xk9#mP2$vL7@nQ4!Xk9#mP2$",
      "Tr0ub4dor&3Tr0ub4dor&3Tr0ub4dor&3",
      "2024-01-01T00:00:00Z2024-01-01T00:00:00Z",
      "00000000-0000-0000-0000-000000000000",
  };
  for (const std::string& secret : weak) ExpectWeak(secret);
  // A strong-looking half said twice is no stronger than the half.
  for (int i = 0; i < 200; ++i) {
    const std::string half = random.GenSecret().substr(0, 20);
    const std::string message = ExpectWeak(half + half);
    EXPECT_TRUE(absl::StrContains(message, "(it repeats itself)")) << message;
  }
}

TEST(SecretStrengthTest, RejectsSequentialSecrets) {
  const std::vector<std::string> weak = {
      "0123456789012345678901234567890123456789",
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
      "zyxwvutsrqponmlkjihgfedcbaZYXWVUTSRQPONMLKJIHGFEDCBA",
      "acegikmoqsuwyACEGIKMOQSUWY02468bdfhjlnprtvxz",
      "qwertyuiopasdfghjklzxcvbnm1234567890QWERTYUIOPASDFGHJKL",
      "poiuytrewqlkjhgfdsamnbvcxz0987654321)(*&^%$#@!",
      "!@#$%^&*()_+qwertyuiop[]asdfghjkl;'zxcvbnm,./",
      "aZbYcXdWeVfUgThSiRjQkPlOmNnMoLpKqJrIsHtGuFvE",
      "1q2w3e4r5t6y7u8i9o0pazsxdcfvgbhnjmk,l.;/",
  };
  for (const std::string& secret : weak) {
    const std::string message = ExpectWeak(secret);
    EXPECT_TRUE(absl::StrContains(message, "sequences") ||
                absl::StrContains(message, "repeats"))
        << message;
  }
}

TEST(SecretStrengthTest, RejectsSecretsWithTooFewDistinctCharacters) {
  RandomSecrets random(3);
  for (int i = 0; i < 200; ++i) {
    // Random, but drawn from too small an alphabet: bits, digits of base 9.
    for (const std::string& secret :
         {random.From("01", 256), random.From("012345678", 128)}) {
      const std::string message = ExpectWeak(secret);
      EXPECT_TRUE(absl::StrContains(message,
                                    "distinct characters, at least "
                                    "10 required"))
          << message;
    }
  }
}

TEST(SecretStrengthTest, RejectsLowVarietySecrets) {
  RandomSecrets random(4);
  int by_bits = 0;
  for (int i = 0; i < 200; ++i) {
    // Twelve symbols: at most 3.6 bits per character, 122 bits in 34.
    const std::string secret = random.From("0123456789ab", 34);
    const std::string message = ExpectWeak(secret);
    if (AnalyzeSecret(secret).distinct >= kMinSecretDistinctChars) {
      EXPECT_TRUE(absl::StrContains(message, "bits of entropy")) << message;
      ++by_bits;
    }
  }
  EXPECT_GT(by_bits, 150);
}

TEST(SecretStrengthTest, RejectsSecretsMadeMostlyOfCommonWords) {
  const std::vector<std::string> weak = {
      "passwordpasswordpasswordpassword",
      "P@ssw0rdS3cr3tCh4ng3M3L3tM31nAdm1n",
      "gatehouse-secret-changeme-example-test",
      "my-gatehouse-test-token-for-staging-2024",
      "CHANGEME_CHANGEME_CHANGEME_CHANGEME",
      "letmein!letmein!welcome1welcome1",
      "ExampleSecretForTestingOnlyChangeMe",
      "Adm1n1str4t0r-P4ssw0rd-G4t3h0us3-Xy",
      "$3cr3t-t0k3n-f0r-l0c4lh0st-t3st1ng",
  };
  for (const std::string& secret : weak) {
    const std::string message = ExpectWeak(secret);
    EXPECT_TRUE(absl::StrContains(message, "common words")) << message;
  }
}

TEST(SecretStrengthTest, WordsWithAShortRandomTailAreStillWeak) {
  RandomSecrets random(5);
  for (int i = 0; i < 200; ++i) {
    ExpectWeak(absl::StrCat("gatehouse-example-secret-",
                            random.GenSecret().substr(0, 10)));
  }
}

TEST(SecretStrengthTest, MessageNamesWhatButNeverEchoesTheSecret) {
  RandomSecrets random(6);
  std::vector<std::string> weak = {
      "",
      "short-secret",
      "P@ssw0rdS3cr3tCh4ng3M3L3tM31nAdm1n",
      "Xk9#mP2$vL7@nQ4!Xk9#mP2$vL7@nQ4!Xk9#mP2$",
      "qwertyuiopasdfghjklzxcvbnm1234567890QWERTYUIOPASDFGHJKL",
      random.From("0123456789", 40),
  };
  for (const std::string& secret : weak) {
    const absl::Status status = CheckSecretStrength(secret, "--token_file");
    ASSERT_FALSE(status.ok()) << secret;
    const std::string message(status.message());
    EXPECT_TRUE(absl::StartsWith(message, "--token_file: ")) << message;
    for (size_t i = 0; i + 8 <= secret.size(); ++i) {
      EXPECT_FALSE(absl::StrContains(message, secret.substr(i, 8)))
          << "message quotes the secret: " << message;
    }
  }
}

TEST(SecretStrengthTest, AnalysisCountsWhatItCreditsNothing) {
  const SecretAnalysis repeated = AnalyzeSecret(std::string(40, 'a'));
  EXPECT_EQ(repeated.length, 40u);
  EXPECT_EQ(repeated.distinct, 1u);
  EXPECT_EQ(repeated.repeated, 39u);
  EXPECT_EQ(repeated.bits, 0);

  const SecretAnalysis sequence = AnalyzeSecret("abcdefghij");
  EXPECT_EQ(sequence.sequential, 8u);
  EXPECT_EQ(sequence.repeated, 0u);

  const SecretAnalysis words = AnalyzeSecret("P4ssw0rd");
  EXPECT_EQ(words.dictionary, 8u);
}

TEST(SecretStrengthTest, AnalysesOnlyABoundedPrefixOfAHugeSecret) {
  RandomSecrets random(8);
  std::string huge;
  while (huge.size() < 1'000'000) huge += random.GenSecret();
  const SecretAnalysis analysis = AnalyzeSecret(huge);
  EXPECT_EQ(analysis.length, kMaxAnalysedSecretLength);
  ExpectStrong(huge);
  // A weak start is not rescued by a strong end.
  ExpectWeak(std::string(kMaxAnalysedSecretLength, 'a') + huge);
}

}  // namespace
}  // namespace gatehouse
