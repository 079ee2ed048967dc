#include "service/core/ip_prefix_table.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace gatehouse {
namespace {

// ::ffff:0:0/96, where IPv4 addresses live.
constexpr int kMappedLength = 96;
const IpAddress kMappedPrefix = absl::MakeUint128(0, 0xffff00000000ull);

IpAddress Mask(int length) {
  return length == 0 ? IpAddress(0) : ~IpAddress(0) << (128 - length);
}

IpAddress FromBytes(const unsigned char* bytes) {
  uint64_t hi = 0, lo = 0;
  for (int i = 0; i < 8; ++i) hi = (hi << 8) | bytes[i];
  for (int i = 8; i < 16; ++i) lo = (lo << 8) | bytes[i];
  return absl::MakeUint128(hi, lo);
}

bool IsMapped(IpAddress a) {
  return (a & Mask(kMappedLength)) == kMappedPrefix;
}

std::string Text(IpAddress first, int length) {
  char buf[INET6_ADDRSTRLEN];
  if (IsMapped(first) && length >= kMappedLength) {
    const uint32_t v4 = htonl(static_cast<uint32_t>(absl::Uint128Low64(first)));
    inet_ntop(AF_INET, &v4, buf, sizeof(buf));
    return absl::StrCat(buf, "/", length - kMappedLength);
  }
  unsigned char bytes[16];
  const uint64_t hi = absl::Uint128High64(first);
  const uint64_t lo = absl::Uint128Low64(first);
  for (int i = 0; i < 8; ++i) {
    bytes[i] = static_cast<unsigned char>(hi >> (56 - 8 * i));
    bytes[8 + i] = static_cast<unsigned char>(lo >> (56 - 8 * i));
  }
  inet_ntop(AF_INET6, bytes, buf, sizeof(buf));
  return absl::StrCat(buf, "/", length);
}

// The address and whether it was written as IPv4.
std::optional<std::pair<IpAddress, bool>> ParseAddress(absl::string_view text) {
  // inet_pton reads a C string: an embedded NUL would hide what follows.
  if (text.size() > INET6_ADDRSTRLEN || text.find('\0') != text.npos) {
    return std::nullopt;
  }
  const std::string s(text);
  unsigned char bytes[16] = {};
  if (inet_pton(AF_INET, s.c_str(), bytes) == 1) {
    uint32_t v4;
    std::memcpy(&v4, bytes, sizeof(v4));
    return std::make_pair(kMappedPrefix | IpAddress(ntohl(v4)), true);
  }
  if (inet_pton(AF_INET6, s.c_str(), bytes) == 1) {
    return std::make_pair(FromBytes(bytes), false);
  }
  return std::nullopt;
}

}  // namespace

IpAddress IpPrefix::last() const { return first | ~Mask(length); }

std::optional<IpAddress> ParseIpAddress(absl::string_view text) {
  auto parsed = ParseAddress(text);
  if (!parsed.has_value()) return std::nullopt;
  return parsed->first;
}

absl::StatusOr<IpPrefix> ParseIpPrefix(absl::string_view text) {
  const auto not_prefix = [&] {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", text.size() <= 64 ? text : text.substr(0, 64),
                     "\" is not an IPv4 or IPv6 prefix"));
  };
  const size_t slash = text.find('/');
  auto parsed = ParseAddress(text.substr(0, slash));
  if (!parsed.has_value()) return not_prefix();
  const auto [address, v4] = *parsed;
  int length = 128;
  if (slash != text.npos) {
    const absl::string_view digits = text.substr(slash + 1);
    int n = -1;
    if (digits.empty() || digits.size() > 3 ||
        !std::all_of(digits.begin(), digits.end(),
                     [](char c) { return c >= '0' && c <= '9'; }) ||
        !absl::SimpleAtoi(digits, &n) || n > (v4 ? 32 : 128)) {
      return not_prefix();
    }
    length = v4 ? kMappedLength + n : n;
  }
  IpPrefix prefix;
  prefix.first = address & Mask(length);
  prefix.length = length;
  prefix.text = Text(prefix.first, length);
  if (prefix.first != address) {
    return absl::InvalidArgumentError(absl::StrCat(
        "\"", text, "\" has host bits set (the network is ", prefix.text, ")"));
  }
  return prefix;
}

IpPrefixTable::IpPrefixTable(std::vector<Entry> entries) {
  // Containing prefixes before the prefixes they contain; of equal ones, the
  // first given. Two prefixes either nest or are disjoint, so a stack of the
  // prefixes holding the current address is enough.
  std::stable_sort(entries.begin(), entries.end(),
                   [](const Entry& a, const Entry& b) {
                     if (a.prefix.first != b.prefix.first) {
                       return a.prefix.first < b.prefix.first;
                     }
                     return a.prefix.length < b.prefix.length;
                   });
  entries.erase(std::unique(entries.begin(), entries.end(),
                            [](const Entry& a, const Entry& b) {
                              return a.prefix.first == b.prefix.first &&
                                     a.prefix.length == b.prefix.length;
                            }),
                entries.end());
  entries_ = std::move(entries);

  ranges_.push_back({0, kNone});
  // Addresses from `cursor` on are not in ranges_ yet; `done` once the
  // last address (all ones) is.
  IpAddress cursor = 0;
  bool done = false;
  const auto emit = [this](IpAddress start, size_t entry) {
    if (ranges_.back().start == start) {
      ranges_.back().entry = entry;
    } else if (ranges_.back().entry != entry) {
      ranges_.push_back({start, entry});
    }
  };
  std::vector<size_t> open;  // Indices of the prefixes holding cursor.
  const auto close_top = [&] {
    const IpPrefix& top = entries_[open.back()].prefix;
    if (!done && cursor <= top.last()) {
      emit(cursor, open.back());
      if (top.last() == ~IpAddress(0)) {
        done = true;
      } else {
        cursor = top.last() + 1;
      }
    }
    open.pop_back();
  };
  for (size_t i = 0; i < entries_.size(); ++i) {
    const IpPrefix& p = entries_[i].prefix;
    while (!open.empty() && entries_[open.back()].prefix.last() < p.first) {
      close_top();
    }
    if (cursor < p.first) {
      emit(cursor, open.empty() ? kNone : open.back());
      cursor = p.first;
    }
    open.push_back(i);
  }
  while (!open.empty()) close_top();
  if (!done) emit(cursor, kNone);
}

const IpPrefixTable::Entry* IpPrefixTable::Lookup(IpAddress address) const {
  if (entries_.empty()) return nullptr;
  auto it =
      std::upper_bound(ranges_.begin(), ranges_.end(), address,
                       [](IpAddress a, const Range& r) { return a < r.start; });
  // ranges_ starts at address 0, so `it` is past the first range.
  const size_t entry = std::prev(it)->entry;
  return entry == kNone ? nullptr : &entries_[entry];
}

}  // namespace gatehouse
