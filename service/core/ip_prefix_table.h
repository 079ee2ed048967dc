#ifndef GATEHOUSE_SERVICE_CORE_IP_PREFIX_TABLE_H_
#define GATEHOUSE_SERVICE_CORE_IP_PREFIX_TABLE_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/numeric/int128.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace gatehouse {

// IPv4 and IPv6 addresses share one 128-bit space: an IPv4 address a.b.c.d
// is the IPv4-mapped IPv6 address ::ffff:a.b.c.d, so "::ffff:10.1.2.3"
// matches 10.0.0.0/8 and a.b.c.d/n is ::ffff:a.b.c.d/(96 + n).
using IpAddress = absl::uint128;

// A network: the first address and the prefix length in the 128-bit space.
struct IpPrefix {
  IpAddress first = 0;
  int length = 0;  // 0..128.
  // Canonical text: "10.0.0.0/8", "2001:db8::/32" (IPv4 for the mapped
  // range).
  std::string text;

  IpAddress last() const;
};

// The address of `text` (IPv4, IPv6 or IPv4-mapped IPv6); nullopt for
// anything else.
std::optional<IpAddress> ParseIpAddress(absl::string_view text);

// Parses "address/length" or a bare address (a single host: /32 or /128).
// INVALID_ARGUMENT, without the field name (the caller adds it): `"x" is
// not an IPv4 or IPv6 prefix`, or for an address with bits set past the
// prefix length, `"10.0.0.1/8" has host bits set (the network is
// 10.0.0.0/8)`: such a prefix is more often a typo than a wish.
absl::StatusOr<IpPrefix> ParseIpPrefix(absl::string_view text);

// A set of networks answering "which is the most specific one holding this
// address" in O(log n): the prefixes are flattened into a sorted table of
// disjoint address ranges, each naming its longest matching prefix, and a
// lookup is a binary search. Building takes O(n log n).
//
// Immutable after construction, hence thread-safe.
class IpPrefixTable {
 public:
  struct Entry {
    IpPrefix prefix;
    // Free text carried with the entry (a deny entry's reason).
    std::string reason;
  };

  IpPrefixTable() = default;
  // Of entries with the same prefix, the first one is kept.
  explicit IpPrefixTable(std::vector<Entry> entries);

  // The entry of the longest prefix holding `address`; nullptr when none
  // does. The pointer lives as long as the table.
  const Entry* Lookup(IpAddress address) const;

  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }

 private:
  // From `start` up to the next range's start, addresses match
  // entries_[entry] (kNone: no entry).
  struct Range {
    IpAddress start;
    size_t entry;
  };
  static constexpr size_t kNone = static_cast<size_t>(-1);

  std::vector<Entry> entries_;
  // Sorted by start; the first starts at address 0.
  std::vector<Range> ranges_;
};

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_CORE_IP_PREFIX_TABLE_H_
