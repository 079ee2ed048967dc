#ifndef GATEHOUSE_SERVICE_CORE_LOCKOUT_INDEX_H_
#define GATEHOUSE_SERVICE_CORE_LOCKOUT_INDEX_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace gatehouse {

// One subject locked out, as the lockout index keeps it: written in the
// same commit as the counter state whose lockout it mirrors (WriteSet::
// lockouts), so the index lists exactly the lockouts that were
// acknowledged. A plain value.
struct LockoutEntry {
  std::string policy;
  // The subject's storage key (subject_key.h); with locked_at_ms it
  // identifies the entry.
  std::string storage_key;
  // When this lockout began (CounterState::locked_at_ms).
  int64_t locked_at_ms = 0;
  // kLockedUntilUnblockedMs when permanent.
  int64_t locked_until_ms = 0;
  // The subject's offences when it was locked.
  uint32_t offences = 0;
  // Block's reason and the operator's client id; both empty for a lockout
  // a ceiling hit started.
  std::string reason;
  std::string blocked_by;
  // The subject's dimension values as stored (pseudonyms, canonical IPs).
  std::vector<std::pair<std::string, std::string>> key;
};

// A change to the index. Applied in order within a commit, so a batch can
// lock a key and then clear it.
struct LockoutChange {
  enum class Kind { kPut, kDelete };
  Kind kind = Kind::kPut;
  // kDelete needs only policy, storage_key and locked_at_ms.
  LockoutEntry entry;
};

struct LockoutQuery {
  // Empty: every policy.
  std::string policy;
  // Entries locked until after this time are listed; the rest have
  // expired (compaction drops them).
  int64_t now_ms = 0;
  size_t page_size = 100;
  // Where the page starts: a LockoutPage::next_page_token (already
  // decoded, DecodeLockoutPageToken), empty for the first page.
  std::string after;
};

struct LockoutPage {
  // Newest first (locked_at_ms descending, then by storage key).
  std::vector<LockoutEntry> entries;
  // The position after the last entry, for the next page (an order key,
  // EncodeLockoutPageToken makes it a token); empty on the last page.
  std::string next;
};

// The order of the index: locked_at_ms descending, then storage key
// ascending. A byte string that sorts in that order.
std::string LockoutOrderKey(int64_t locked_at_ms,
                            absl::string_view storage_key);

// Page tokens given to callers: the order key of the last entry of a page,
// opaque (base64url with a version byte). DecodeLockoutPageToken gives
// INVALID_ARGUMENT naming `field` for anything it did not make.
std::string EncodeLockoutPageToken(absl::string_view order_key);
absl::StatusOr<std::string> DecodeLockoutPageToken(absl::string_view token,
                                                   absl::string_view field);

// Upper bound on LockoutQuery::page_size.
inline constexpr size_t kMaxLockoutPageSize = 1000;

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_CORE_LOCKOUT_INDEX_H_
