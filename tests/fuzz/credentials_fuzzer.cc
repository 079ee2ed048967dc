// Fuzzes the credentials file parser: any text must give a valid client
// list or INVALID_ARGUMENT, never a crash or another error code; token
// lookup must work on whatever was accepted.

#include <cstddef>
#include <cstdint>
#include <set>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "service/auth/credentials.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace gatehouse;
  const absl::string_view yaml(reinterpret_cast<const char*>(data), size);
  const auto parsed = Credentials::Parse(yaml, "fuzz.yaml");
  if (!parsed.ok()) {
    FUZZ_CHECK(parsed.status().code() == absl::StatusCode::kInvalidArgument,
               parsed.status().ToString());
    FUZZ_CHECK(absl::StartsWith(parsed.status().message(), "fuzz.yaml: "),
               parsed.status().ToString());
    return 0;
  }
  const Credentials& credentials = **parsed;
  std::set<std::string> ids;
  std::set<TokenHash> hashes;
  for (const ClientIdentity& client : credentials.clients()) {
    FUZZ_CHECK(!client.id.empty(), "empty id");
    FUZZ_CHECK(ids.insert(client.id).second, "duplicate id " + client.id);
    FUZZ_CHECK(!client.token_hashes.empty(), client.id);
    FUZZ_CHECK(!client.scopes.empty(), client.id);
    for (const TokenHash& h : client.token_hashes) {
      FUZZ_CHECK(hashes.insert(h).second, "hash shared by two entries");
    }
  }
  // The input itself as a token: found only if its hash was listed.
  const ClientIdentity* found = credentials.FindByToken(yaml);
  FUZZ_CHECK((found != nullptr) == (hashes.count(Sha256(yaml)) > 0),
             "FindByToken disagrees with the hash list");
  FUZZ_CHECK(
      credentials.FindByToken("") == nullptr || hashes.count(Sha256("")) > 0,
      "empty token found");
  return 0;
}
