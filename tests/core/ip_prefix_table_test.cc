#include "service/core/ip_prefix_table.h"

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "gtest/gtest.h"

namespace gatehouse {
namespace {

IpPrefix Prefix(const std::string& text) {
  absl::StatusOr<IpPrefix> p = ParseIpPrefix(text);
  EXPECT_TRUE(p.ok()) << text << ": " << p.status();
  return p.ok() ? *p : IpPrefix{};
}

IpAddress Address(const std::string& text) {
  std::optional<IpAddress> a = ParseIpAddress(text);
  EXPECT_TRUE(a.has_value()) << text;
  return a.value_or(0);
}

IpPrefixTable Table(const std::vector<std::string>& prefixes) {
  std::vector<IpPrefixTable::Entry> entries;
  for (const std::string& p : prefixes) entries.push_back({Prefix(p), p});
  return IpPrefixTable(std::move(entries));
}

// The reason (here: the prefix as written) of the entry matching `address`,
// or "" when none does.
std::string Match(const IpPrefixTable& table, const std::string& address) {
  const IpPrefixTable::Entry* e = table.Lookup(Address(address));
  return e == nullptr ? "" : e->reason;
}

TEST(IpPrefixTest, ParsesAndCanonicalisesPrefixes) {
  EXPECT_EQ(Prefix("10.0.0.0/8").text, "10.0.0.0/8");
  EXPECT_EQ(Prefix("10.0.0.0/8").length, 104);
  EXPECT_EQ(Prefix("2001:DB8:0:0::/32").text, "2001:db8::/32");
  EXPECT_EQ(Prefix("192.0.2.7").text, "192.0.2.7/32");
  EXPECT_EQ(Prefix("2001:db8::1").text, "2001:db8::1/128");
  EXPECT_EQ(Prefix("0.0.0.0/0").text, "0.0.0.0/0");
  EXPECT_EQ(Prefix("::/0").text, "::/0");
  // An IPv4-mapped IPv6 prefix is the IPv4 network it covers.
  EXPECT_EQ(Prefix("::ffff:198.51.100.0/120").text, "198.51.100.0/24");
  EXPECT_EQ(Prefix("::ffff:0:0/96").text, "0.0.0.0/0");
}

TEST(IpPrefixTest, RejectsWhatIsNotAPrefix) {
  for (const char* bad :
       {"10.0.0.300/8", "10.0.0.0/33", "2001:db8::/129", "10.0.0.0/", "/8",
        "10.0.0.0/+8", "10.0.0.0/-1", "10.0.0.0/08a", "10.0.0.0/0008",
        "10.0.0.0/8/8", "", "example.com", "10.0.0.0 /8", "10.0.0/8",
        "2001:db8::/32 "}) {
    absl::StatusOr<IpPrefix> p = ParseIpPrefix(bad);
    EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_EQ(ParseIpPrefix("10.0.0.300/8").status().message(),
            "\"10.0.0.300/8\" is not an IPv4 or IPv6 prefix");
}

TEST(IpPrefixTest, RejectsHostBitsNamingTheNetwork) {
  EXPECT_EQ(ParseIpPrefix("10.0.0.1/8").status().message(),
            "\"10.0.0.1/8\" has host bits set (the network is 10.0.0.0/8)");
  EXPECT_EQ(ParseIpPrefix("2001:db8::1/32").status().message(),
            "\"2001:db8::1/32\" has host bits set (the network is "
            "2001:db8::/32)");
}

TEST(IpPrefixTest, AddressesOfBothFamiliesShareOneSpace) {
  EXPECT_EQ(Address("::ffff:1.2.3.4"), Address("1.2.3.4"));
  EXPECT_EQ(Address("::FFFF:102:304"), Address("1.2.3.4"));
  EXPECT_NE(Address("::1.2.3.4"), Address("1.2.3.4"));
  EXPECT_FALSE(ParseIpAddress("1.2.3.4/32").has_value());
  EXPECT_FALSE(ParseIpAddress("alice").has_value());
  EXPECT_FALSE(ParseIpAddress(std::string("1.2.3.4\0x", 9)).has_value());
}

TEST(IpPrefixTableTest, EmptyTableMatchesNothing) {
  const IpPrefixTable table;
  EXPECT_EQ(table.Lookup(Address("10.0.0.1")), nullptr);
  EXPECT_TRUE(table.empty());
}

TEST(IpPrefixTableTest, MatchesTheMostSpecificPrefix) {
  const IpPrefixTable table = Table({"10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24",
                                     "10.1.2.3/32", "10.200.0.0/16"});
  EXPECT_EQ(Match(table, "10.0.0.0"), "10.0.0.0/8");
  EXPECT_EQ(Match(table, "10.0.255.255"), "10.0.0.0/8");
  EXPECT_EQ(Match(table, "10.1.0.0"), "10.1.0.0/16");
  EXPECT_EQ(Match(table, "10.1.2.2"), "10.1.2.0/24");
  EXPECT_EQ(Match(table, "10.1.2.3"), "10.1.2.3/32");
  EXPECT_EQ(Match(table, "10.1.2.4"), "10.1.2.0/24");
  EXPECT_EQ(Match(table, "10.1.3.0"), "10.1.0.0/16");
  EXPECT_EQ(Match(table, "10.2.0.0"), "10.0.0.0/8");
  EXPECT_EQ(Match(table, "10.200.9.9"), "10.200.0.0/16");
  EXPECT_EQ(Match(table, "10.255.255.255"), "10.0.0.0/8");
  EXPECT_EQ(Match(table, "11.0.0.0"), "");
  EXPECT_EQ(Match(table, "9.255.255.255"), "");
  EXPECT_EQ(Match(table, "2001:db8::1"), "");
}

TEST(IpPrefixTableTest, Ipv4MappedAddressesMatchIpv4Prefixes) {
  const IpPrefixTable table = Table({"198.51.100.0/24", "2001:db8::/32"});
  EXPECT_EQ(Match(table, "::ffff:198.51.100.77"), "198.51.100.0/24");
  EXPECT_EQ(Match(table, "198.51.100.77"), "198.51.100.0/24");
  EXPECT_EQ(Match(table, "2001:db8:ffff::1"), "2001:db8::/32");
  EXPECT_EQ(Match(table, "2001:db9::"), "");
  // Not a mapped address: IPv4-compatible ::198.51.100.77 is another one.
  EXPECT_EQ(Match(table, "::198.51.100.77"), "");
}

TEST(IpPrefixTableTest, WholeSpaceAndItsEdges) {
  const IpPrefixTable table = Table({"::/0", "ffff:ffff::/32", "::/128"});
  EXPECT_EQ(Match(table, "::"), "::/128");
  EXPECT_EQ(Match(table, "::1"), "::/0");
  EXPECT_EQ(Match(table, "10.0.0.1"), "::/0");
  EXPECT_EQ(Match(table, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
            "ffff:ffff::/32");
  EXPECT_EQ(Match(table, "fffe:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), "::/0");
}

TEST(IpPrefixTableTest, OfEqualPrefixesTheFirstIsKept) {
  std::vector<IpPrefixTable::Entry> entries;
  entries.push_back({Prefix("203.0.113.0/24"), "first"});
  entries.push_back({Prefix("203.0.113.0/24"), "second"});
  const IpPrefixTable table(std::move(entries));
  EXPECT_EQ(table.size(), 1u);
  EXPECT_EQ(Match(table, "203.0.113.9"), "first");
}

// The network mask of a prefix length (a shift by 128 is undefined).
IpAddress MaskOf(int length) {
  return length == 0 ? IpAddress(0) : ~IpAddress(0) << (128 - length);
}

// The longest match by brute force over every prefix length: what the
// table must agree with.
class Reference {
 public:
  explicit Reference(const std::vector<IpPrefix>& prefixes) {
    for (size_t i = 0; i < prefixes.size(); ++i) {
      // emplace keeps the first of equal prefixes, as the table does.
      by_prefix_.emplace(Key{prefixes[i].first, prefixes[i].length}, i);
    }
  }
  // Index of the first of the longest matching prefixes, or -1.
  int64_t Lookup(IpAddress a) const {
    for (int len = 128; len >= 0; --len) {
      auto it = by_prefix_.find(Key{a & MaskOf(len), len});
      if (it != by_prefix_.end()) return static_cast<int64_t>(it->second);
    }
    return -1;
  }

 private:
  struct Key {
    IpAddress first;
    int length;
    bool operator==(const Key& o) const {
      return first == o.first && length == o.length;
    }
  };
  struct Hash {
    size_t operator()(const Key& k) const {
      return std::hash<uint64_t>()(absl::Uint128High64(k.first) * 31 +
                                   absl::Uint128Low64(k.first)) ^
             static_cast<size_t>(k.length);
    }
  };
  std::unordered_map<Key, size_t, Hash> by_prefix_;
};

TEST(IpPrefixTableTest, FiftyThousandPrefixesAgreeWithBruteForce) {
  std::mt19937_64 rng(19);
  // Clustered under a few networks so that many prefixes nest.
  const std::vector<IpPrefix> roots = {Prefix("10.0.0.0/8"),
                                       Prefix("198.18.0.0/15"),
                                       Prefix("2001:db8::/32"), Prefix("::/0")};
  std::vector<IpPrefix> prefixes;
  std::vector<IpPrefixTable::Entry> entries;
  while (prefixes.size() < 50'000) {
    const IpPrefix& root = roots[rng() % roots.size()];
    const int extra = static_cast<int>(rng() % (128 - root.length + 1));
    IpPrefix p;
    // At least /16, so that some addresses match nothing.
    p.length = std::max(
        16, std::min(128, root.length + extra % 25 + (extra > 100 ? 40 : 0)));
    const IpAddress random = absl::MakeUint128(rng(), rng());
    p.first = (root.first | (random & ~MaskOf(root.length))) & MaskOf(p.length);
    prefixes.push_back(p);
    entries.push_back({p, std::to_string(prefixes.size() - 1)});
  }
  const IpPrefixTable table(entries);
  const Reference reference(prefixes);

  std::vector<IpAddress> probes;
  for (const IpPrefix& p : prefixes) {
    probes.push_back(p.first);
    probes.push_back(p.last());
    probes.push_back(p.first - 1);
    probes.push_back(p.last() + 1);
  }
  for (int i = 0; i < 20'000; ++i) {
    const IpPrefix& root = roots[rng() % roots.size()];
    probes.push_back(root.first |
                     (absl::MakeUint128(rng(), rng()) & ~MaskOf(root.length)));
  }
  size_t matched = 0, mismatches = 0;
  for (IpAddress a : probes) {
    const int64_t want = reference.Lookup(a);
    const IpPrefixTable::Entry* got = table.Lookup(a);
    const int64_t got_index = got == nullptr ? -1 : std::stoll(got->reason);
    if (want >= 0) ++matched;
    if (got_index != want && ++mismatches <= 5) {
      ADD_FAILURE() << "address " << a << ": want " << want << ", got "
                    << got_index;
    }
  }
  EXPECT_EQ(mismatches, 0u);
  // The probes exercise both outcomes.
  EXPECT_GT(matched, probes.size() / 2);
  EXPECT_LT(matched, probes.size());
}

}  // namespace
}  // namespace gatehouse
