#include "service/auth/secret_strength.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <vector>

#include "absl/strings/str_cat.h"

namespace gatehouse {
namespace {

// Common passwords and words people put into secrets, lower case, letters
// only (leetspeak is undone when matching). At least 4 letters each, so
// that random secrets seldom contain one by chance.
constexpr const char* kWords[] = {
    "password", "passwd",   "passphrase", "pass",      "secret",
    "changeme", "changeit", "admin",      "letmein",   "gatehouse",
    "example",  "sample",   "test",       "testing",   "default",
    "welcome",  "qwerty",   "login",      "root",      "master",
    "token",    "dragon",   "monkey",     "football",  "baseball",
    "sunshine", "iloveyou", "trustno",    "princess",  "hello",
    "shadow",   "superman", "batman",     "access",    "secure",
    "security", "private",  "public",     "guest",     "user",
    "manager",  "service",  "server",     "system",    "database",
    "apikey",   "bearer",   "credential", "internal",  "production",
    "staging",  "develop",  "local",      "localhost", "demo",
    "temp",     "dummy",    "foobar",     "hunter",    "starwars",
    "whatever", "freedom",  "mustang",    "summer",    "winter",
    "spring",   "autumn",   "love",       "ratelimit", "limit",
};

// Shortest stretch that counts as a repeat of an earlier one.
constexpr size_t kMinRepeat = 4;
// Largest step of a sequence ("aceg" has step 2).
constexpr int kMaxSequenceStep = 3;

// Keyboard rows of a US layout, unshifted and shifted.
constexpr const char* kKeyboardRows[] = {
    "`1234567890-=", "qwertyuiop[]\\",
    "asdfghjkl;'",   "zxcvbnm,./",
    "~!@#$%^&*()_+", "{}|",
    ":\"",           "<>?",
};

enum class Role : uint8_t { kFree, kRepeated, kSequential, kDictionary };

unsigned char Lower(unsigned char c) {
  return (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c;
}

// Whether secret character `c` may stand for the word's letter `w`.
bool LooksLike(unsigned char c, char w) {
  c = Lower(c);
  if (c == static_cast<unsigned char>(w)) return true;
  switch (c) {
    case '0':
      return w == 'o';
    case '1':
    case '!':
    case '|':
      return w == 'i' || w == 'l';
    case '2':
      return w == 'z';
    case '3':
      return w == 'e';
    case '4':
    case '@':
      return w == 'a';
    case '5':
    case '$':
      return w == 's';
    case '6':
    case '9':
      return w == 'g';
    case '7':
    case '+':
      return w == 't';
    case '8':
      return w == 'b';
  }
  return false;
}

bool WordAt(absl::string_view s, size_t at, absl::string_view word) {
  if (s.size() - at < word.size()) return false;
  for (size_t k = 0; k < word.size(); ++k) {
    if (!LooksLike(static_cast<unsigned char>(s[at + k]), word[k])) {
      return false;
    }
  }
  return true;
}

struct KeyPosition {
  int8_t row = -1;
  int8_t column = 0;
};

std::array<KeyPosition, 256> KeyboardPositions() {
  std::array<KeyPosition, 256> positions{};
  for (size_t r = 0; r < std::size(kKeyboardRows); ++r) {
    absl::string_view row = kKeyboardRows[r];
    for (size_t col = 0; col < row.size(); ++col) {
      positions[static_cast<unsigned char>(row[col])] = {
          static_cast<int8_t>(r), static_cast<int8_t>(col)};
    }
  }
  return positions;
}

// Whether s[i-2k], s[i-k], s[i] continue a sequence: a constant small step
// in character code, or neighbours in one direction along a keyboard row.
// Stride k = 2 finds two sequences interleaved ("a1b2c3", "1q2w3e").
bool ContinuesSequence(absl::string_view s, size_t i, size_t k) {
  const int a = static_cast<unsigned char>(s[i - 2 * k]);
  const int b = static_cast<unsigned char>(s[i - k]);
  const int c = static_cast<unsigned char>(s[i]);
  if (b - a == c - b && std::abs(c - b) <= kMaxSequenceStep) return true;
  static const std::array<KeyPosition, 256> kPositions = KeyboardPositions();
  const KeyPosition& pa = kPositions[Lower(a)];
  const KeyPosition& pb = kPositions[Lower(b)];
  const KeyPosition& pc = kPositions[Lower(c)];
  if (pa.row < 0 || pa.row != pb.row || pb.row != pc.row) return false;
  const int step = pb.column - pa.column;
  return (step == 1 || step == -1) && pc.column - pb.column == step;
}

// log2 of the number of characters in the classes `s` draws from.
double AlphabetBits(absl::string_view s) {
  bool lower = false, upper = false, digit = false, punct = false,
       other = false;
  for (unsigned char c : s) {
    if (c >= 'a' && c <= 'z') {
      lower = true;
    } else if (c >= 'A' && c <= 'Z') {
      upper = true;
    } else if (c >= '0' && c <= '9') {
      digit = true;
    } else if (c >= 0x20 && c < 0x7f) {
      punct = true;
    } else {
      other = true;
    }
  }
  const int size = (lower ? 26 : 0) + (upper ? 26 : 0) + (digit ? 10 : 0) +
                   (punct ? 33 : 0) + (other ? 161 : 0);
  return size > 1 ? std::log2(size) : 0;
}

absl::Status Weak(absl::string_view what, absl::string_view reason) {
  return absl::InvalidArgumentError(
      absl::StrCat(what, ": weak secret: ", reason,
                   "; generate one with `gatehousectl gen-secret`"));
}

}  // namespace

SecretAnalysis AnalyzeSecret(absl::string_view secret) {
  const absl::string_view s = secret.substr(0, kMaxAnalysedSecretLength);
  const size_t n = s.size();
  SecretAnalysis out;
  out.length = n;
  std::vector<Role> role(n, Role::kFree);

  // Words, leftmost-longest first.
  size_t words = 0;
  for (size_t i = 0; i < n;) {
    size_t longest = 0;
    for (absl::string_view word : kWords) {
      if (word.size() > longest && WordAt(s, i, word)) longest = word.size();
    }
    if (longest == 0) {
      ++i;
      continue;
    }
    ++words;
    std::fill_n(role.begin() + i, longest, Role::kDictionary);
    i += longest;
  }

  // Repeats of an earlier stretch (which may overlap it: "aaaa").
  for (size_t i = 1; i < n;) {
    size_t longest = 0;
    for (size_t j = 0; j < i; ++j) {
      size_t k = 0;
      while (i + k < n && s[j + k] == s[i + k]) ++k;
      longest = std::max(longest, k);
    }
    if (longest < kMinRepeat) {
      ++i;
      continue;
    }
    for (size_t k = i; k < i + longest; ++k) {
      if (role[k] == Role::kFree) role[k] = Role::kRepeated;
    }
    i += longest;
  }

  for (size_t i = 2; i < n; ++i) {
    if (role[i] == Role::kFree && (ContinuesSequence(s, i, 1) ||
                                   (i >= 4 && ContinuesSequence(s, i, 2)))) {
      role[i] = Role::kSequential;
    }
  }

  std::array<size_t, 256> all{}, free{};
  size_t free_count = 0;
  for (size_t i = 0; i < n; ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    ++all[c];
    switch (role[i]) {
      case Role::kFree:
        ++free[c];
        ++free_count;
        break;
      case Role::kRepeated:
        ++out.repeated;
        break;
      case Role::kSequential:
        ++out.sequential;
        break;
      case Role::kDictionary:
        ++out.dictionary;
        break;
    }
  }
  out.distinct = static_cast<size_t>(
      std::count_if(all.begin(), all.end(), [](size_t k) { return k > 0; }));

  double shannon = 0;  // Bits per free character.
  for (size_t k : free) {
    if (k == 0) continue;
    const double p = static_cast<double>(k) / free_count;
    shannon -= p * std::log2(p);
  }
  // A word is one guess out of the list, plus a bit for case and leetspeak.
  const double word_bits = std::log2(std::size(kWords)) + 1;
  out.bits = free_count * std::min(shannon, AlphabetBits(s)) +
             static_cast<double>(words) * word_bits;
  return out;
}

absl::Status CheckSecretStrength(absl::string_view secret,
                                 absl::string_view what) {
  if (secret.empty()) return Weak(what, "empty");
  if (secret.size() < kMinSecretLength) {
    return Weak(what, absl::StrCat(secret.size(), " characters, at least ",
                                   kMinSecretLength, " required"));
  }
  const SecretAnalysis a = AnalyzeSecret(secret);
  if (2 * a.dictionary >= a.length) {
    return Weak(what, "mostly common words or passwords");
  }
  if (a.distinct < kMinSecretDistinctChars) {
    return Weak(what, absl::StrCat("only ", a.distinct, " distinct character",
                                   a.distinct == 1 ? "" : "s", ", at least ",
                                   kMinSecretDistinctChars, " required"));
  }
  if (a.bits < kMinSecretBits) {
    std::string why;
    const size_t most = std::max({a.repeated, a.sequential, a.dictionary});
    if (4 * most >= a.length) {
      why = most == a.repeated     ? " (it repeats itself)"
            : most == a.sequential ? " (it runs in sequences like abcd, "
                                     "1234 or qwerty)"
                                   : " (it contains common words)";
    }
    return Weak(what, absl::StrCat("about ", static_cast<int>(a.bits),
                                   " bits of entropy by a conservative "
                                   "estimate, at least ",
                                   kMinSecretBits, " required", why));
  }
  return absl::OkStatus();
}

}  // namespace gatehouse
