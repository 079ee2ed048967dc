#ifndef GATEHOUSE_SERVICE_AUTH_SECRET_STRENGTH_H_
#define GATEHOUSE_SERVICE_AUTH_SECRET_STRENGTH_H_

#include <cstddef>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace gatehouse {

// The rule a secret (a bearer token given in plain form, the pseudonym key)
// must meet before the service starts with it:
//
//   1. At least kMinSecretLength (32) characters.
//   2. Not mostly common words: when words of a small built-in list of
//      common passwords and words (password, secret, changeme, admin,
//      letmein, gatehouse, example, test, qwerty, ...; matched ignoring case
//      and the usual leetspeak: 0=o, 1=i/l, 3=e, 4=a, @=a, 5=s, $=s, 7=t, ...)
//      cover half of its characters or more, it is refused.
//   3. At least kMinSecretDistinctChars (10) distinct characters.
//   4. At least kMinSecretBits (128) bits by a conservative entropy estimate.
//      Characters that are predictable from what precedes them count for
//      nothing: a repeat of an earlier stretch of 4 or more characters
//      ("abcabcabc", "aaaa"), the third and later characters of a sequence
//      with a constant step of at most 3 ("12345", "abcdef", "aceg",
//      "zyxw") or along a keyboard row ("qwerty", "asdf", "!@#$"), and a
//      listed word (which counts as one choice out of the list, ~7 bits).
//      Every other character counts for the Shannon entropy per character
//      of those characters (their observed frequencies), capped by the
//      size of the character classes in use (lower case, upper case,
//      digits, punctuation, other bytes).
//
// 32 random bytes as URL-safe base64 (`gatehousectl gen-secret`, 43
// characters, ~200 bits by this estimate), as hex (`openssl rand -hex 32`,
// 64 characters, ~240 bits) or as standard base64 (`openssl rand -base64
// 32`) pass with a wide margin. 16 random bytes as hex (32 characters,
// ~110 bits by this estimate) do not: the estimate errs on the safe side.
// The estimate cannot see how a secret was made: a hash of a weak password,
// or a phrase of ordinary English words, can pass while being guessable.
// Generate secrets; do not invent them.
inline constexpr size_t kMinSecretLength = 32;
inline constexpr size_t kMinSecretDistinctChars = 10;
inline constexpr double kMinSecretBits = 128;
// Only this much of a secret is analysed, which bounds the work; a longer
// secret is judged on its start.
inline constexpr size_t kMaxAnalysedSecretLength = 4096;

// What the entropy estimate saw in a secret, for tests and diagnostics.
struct SecretAnalysis {
  size_t length = 0;  // Characters (bytes) analysed.
  size_t distinct = 0;
  // Characters credited nothing, by why. A character counts once.
  size_t repeated = 0;
  size_t sequential = 0;
  size_t dictionary = 0;
  double bits = 0;  // The estimate of rule 4.
};

// The analysis behind rule 4, of the first kMaxAnalysedSecretLength
// characters of `secret`. Thread-safe.
SecretAnalysis AnalyzeSecret(absl::string_view secret);

// OK when `secret` meets the rule above. Otherwise INVALID_ARGUMENT whose
// message starts with `what` (the flag or file naming the secret, e.g.
// "--pseudonym_key_file"), says which part of the rule failed and how to
// generate a good secret. The message never contains the secret or any part
// of it, nor the words it matched.
absl::Status CheckSecretStrength(absl::string_view secret,
                                 absl::string_view what);

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_AUTH_SECRET_STRENGTH_H_
