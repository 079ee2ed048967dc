#include "service/core/subject_key.h"

#include <arpa/inet.h>

#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/clock/simulated_clock.h"
#include "service/core/in_memory_counter_store.h"
#include "service/core/limiter.h"
#include "service/core/policy.h"
#include "service/core/pseudonymizer.h"

namespace gatehouse {
namespace {

using ::testing::HasSubstr;

Policy MakePolicy(std::string name, std::vector<std::string> dimensions) {
  Policy p;
  p.name = std::move(name);
  p.dimensions = std::move(dimensions);
  return p;
}

class SubjectKeyTest : public ::testing::Test {
 protected:
  // The key, or "" after recording a failure.
  std::string Key(const Policy& policy,
                  const std::map<std::string, std::string>& key) {
    absl::StatusOr<std::string> k = DeriveStorageKey(policy, key, "key");
    EXPECT_TRUE(k.ok()) << k.status();
    return k.ok() ? *k : "";
  }
  std::string IpKey(const std::string& ip) { return Key(ip_, {{"ip", ip}}); }

  const Policy geo_ = MakePolicy("geo", {"country", "ip", "user"});
  const Policy ip_ = MakePolicy("per_ip", {"ip"});
};

TEST_F(SubjectKeyTest, KeyIsIndependentOfTheOrderValuesWereGiven) {
  std::map<std::string, std::string> forward;
  forward["country"] = "NL";
  forward["ip"] = "203.0.113.7";
  forward["user"] = "alice";
  std::map<std::string, std::string> backward;
  backward["user"] = "alice";
  backward["ip"] = "203.0.113.7";
  backward["country"] = "NL";
  const std::string key = Key(geo_, forward);
  EXPECT_EQ(key, Key(geo_, backward));
  EXPECT_EQ(key.front(), 'c');
  // Parts follow the policy's sorted dimension order.
  EXPECT_LT(key.find("country"), key.find("ip"));
  EXPECT_LT(key.find("ip"), key.find("user"));
}

TEST_F(SubjectKeyTest, Ipv4MappedIpv6FoldsToIpv4) {
  const std::string v4 = IpKey("203.0.113.7");
  EXPECT_EQ(IpKey("::ffff:203.0.113.7"), v4);
  EXPECT_EQ(IpKey("::FFFF:203.0.113.7"), v4);
  EXPECT_EQ(IpKey("::ffff:cb00:7107"), v4);
  EXPECT_EQ(IpKey("0:0:0:0:0:ffff:cb00:7107"), v4);
  EXPECT_NE(IpKey("203.0.113.8"), v4);
  absl::StatusOr<std::string> canonical = CanonicalizeIp("::ffff:203.0.113.7");
  ASSERT_TRUE(canonical.ok());
  EXPECT_EQ(*canonical, "203.0.113.7");
}

// Stored keys hold the canonical text: it must stay what inet_ntop writes.
TEST_F(SubjectKeyTest, Ipv4CanonicalTextIsInetNtopsByteForByte) {
  std::mt19937 random(7);
  std::vector<uint32_t> addresses = {
      0, 1, 0x7f000001, 0x0a000001, 0xffffffff, 0xc0a80164, 0x01020304};
  for (int i = 0; i < 10000; ++i) addresses.push_back(random());
  for (uint32_t host : addresses) {
    in_addr v4;
    v4.s_addr = htonl(host);
    char expected[INET_ADDRSTRLEN];
    ASSERT_NE(inet_ntop(AF_INET, &v4, expected, sizeof(expected)), nullptr);
    absl::StatusOr<std::string> canonical = CanonicalizeIp(expected);
    ASSERT_TRUE(canonical.ok()) << expected;
    EXPECT_EQ(*canonical, expected);
    canonical = CanonicalizeIp(absl::StrCat("::ffff:", expected));
    ASSERT_TRUE(canonical.ok()) << expected;
    EXPECT_EQ(*canonical, expected);
  }
}

TEST_F(SubjectKeyTest, Ipv6CaseAndCompressionAreNormalised) {
  const std::string key = IpKey("2001:db8::1");
  EXPECT_EQ(IpKey("2001:DB8::1"), key);
  EXPECT_EQ(IpKey("2001:0db8:0000:0000:0000:0000:0000:0001"), key);
  EXPECT_EQ(IpKey("2001:db8:0:0::0:1"), key);
  EXPECT_NE(IpKey("2001:db8::2"), key);
  absl::StatusOr<std::string> canonical =
      CanonicalizeIp("2001:0DB8:0000:0000:0000:0000:0000:0001");
  ASSERT_TRUE(canonical.ok());
  EXPECT_EQ(*canonical, "2001:db8::1");
  canonical = CanonicalizeIp("0:0:0:0:0:0:0:1");
  ASSERT_TRUE(canonical.ok());
  EXPECT_EQ(*canonical, "::1");
}

TEST_F(SubjectKeyTest, RejectsWhatIsNotAnIpAddress) {
  for (const std::string& bad :
       {std::string("203.0.113"), std::string("203.0.113.256"),
        std::string("203.0.113.7 "), std::string(" 203.0.113.7"),
        std::string("203.0.113.7/32"), std::string("2001:db8::1::2"),
        std::string("fe80::1%eth0"), std::string("[2001:db8::1]"),
        std::string("example.com"), std::string("localhost"),
        std::string("203.0.113.7:443"), std::string(64, '1'),
        std::string("203.0.113.7\0junk", 16)}) {
    SCOPED_TRACE(bad);
    absl::StatusOr<std::string> canonical = CanonicalizeIp(bad);
    EXPECT_EQ(canonical.status().code(), absl::StatusCode::kInvalidArgument)
        << (canonical.ok() ? *canonical : "");
    absl::StatusOr<std::string> key =
        DeriveStorageKey(ip_, {{"ip", bad}}, "subjects[3].key");
    EXPECT_EQ(key.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(key.status().message()),
                HasSubstr("subjects[3].key[\"ip\"]"));
  }
}

TEST_F(SubjectKeyTest, OnlyIpNamedDimensionsAreParsedAsAddresses) {
  EXPECT_TRUE(IsIpDimension("ip"));
  EXPECT_TRUE(IsIpDimension("client_ip"));
  EXPECT_FALSE(IsIpDimension("zip"));
  EXPECT_FALSE(IsIpDimension("ip_range"));
  EXPECT_FALSE(IsIpDimension("IP"));

  const Policy client = MakePolicy("client", {"client_ip"});
  EXPECT_EQ(Key(client, {{"client_ip", "::ffff:203.0.113.7"}}),
            Key(client, {{"client_ip", "203.0.113.7"}}));
  // Anything else is kept byte for byte.
  const Policy zip = MakePolicy("zip", {"zip"});
  EXPECT_NE(Key(zip, {{"zip", "1011AB"}}), Key(zip, {{"zip", "1011ab"}}));
  EXPECT_NE(Key(zip, {{"zip", "::ffff:203.0.113.7"}}),
            Key(zip, {{"zip", "203.0.113.7"}}));
}

TEST_F(SubjectKeyTest, DistinctInputsWithSeparatorLikeBytesDoNotCollide) {
  const Policy ab = MakePolicy("p", {"a", "b"});
  // Where a naive "a=x:b=y" join would collide.
  EXPECT_NE(Key(ab, {{"a", "x:y"}, {"b", "z"}}),
            Key(ab, {{"a", "x"}, {"b", "y:z"}}));
  EXPECT_NE(Key(ab, {{"a", "x|b=y"}, {"b", "z"}}),
            Key(ab, {{"a", "x"}, {"b", "y|b=z"}}));
  // Policy name and dimension names are length-prefixed too.
  EXPECT_NE(Key(MakePolicy("ab", {"c"}), {{"c", "v"}}),
            Key(MakePolicy("a", {"bc"}), {{"bc", "v"}}));
  EXPECT_NE(Key(MakePolicy("p", {"a"}), {{"a", "v"}}),
            Key(MakePolicy("q", {"a"}), {{"a", "v"}}));

  // Random values over an alphabet of separators, quote characters and a
  // multi-byte character, some around the one-byte varint limit (127).
  const std::vector<std::string> alphabet = {
      "a", "b", ":", "|", "=", "/", "\\", "\"", ",", " ", "\xc3\xa9"};
  std::mt19937_64 rng(42);
  auto random_value = [&]() {
    const size_t len =
        std::uniform_int_distribution<int>(0, 3)(rng) == 0
            ? std::uniform_int_distribution<size_t>(120, 135)(rng)
            : std::uniform_int_distribution<size_t>(1, 4)(rng);
    std::string v;
    while (v.size() < len) {
      v += alphabet[std::uniform_int_distribution<size_t>(
          0, alphabet.size() - 1)(rng)];
    }
    return v;
  };
  std::map<std::string, std::pair<std::string, std::string>> seen;
  for (int i = 0; i < 20'000; ++i) {
    const std::string a = random_value();
    const std::string b = random_value();
    absl::StatusOr<std::string> key =
        DeriveStorageKey(ab, {{"a", a}, {"b", b}}, "key");
    ASSERT_TRUE(key.ok()) << key.status();
    auto [it, inserted] = seen.emplace(*key, std::make_pair(a, b));
    if (!inserted) {
      ASSERT_EQ(it->second, std::make_pair(a, b)) << "two inputs share a key";
    }
  }
  // Short values repeat, so some keys were derived twice: equal inputs gave
  // equal keys.
  EXPECT_LT(seen.size(), 20'000u);
  EXPECT_GT(seen.size(), 10'000u);
}

TEST_F(SubjectKeyTest, ErrorsNameTheFieldAndTheDimension) {
  struct Case {
    std::map<std::string, std::string> key;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {{{"country", "NL"}, {"ip", "203.0.113.7"}},
            "f: missing dimension \"user\""},
           {{{"country", "NL"},
             {"ip", "203.0.113.7"},
             {"user", "u"},
             {"colour", "red"}},
            "f: unknown dimension \"colour\""},
           {{{"country", ""}, {"ip", "203.0.113.7"}, {"user", "u"}},
            "f[\"country\"]: empty value"},
           {{{"country", "NL"}, {"ip", "203.0.113.7"}, {"user", "a\tb"}},
            "f[\"user\"]"},
       }) {
    absl::StatusOr<std::string> key = DeriveStorageKey(geo_, c.key, "f");
    EXPECT_EQ(key.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(key.status().message()), HasSubstr(c.message));
  }
}

// The prefix text, or "" after recording a failure.
std::string Prefix(const std::string& ip, int v4, int v6) {
  absl::StatusOr<std::string> out = CanonicalizeIpPrefix(ip, v4, v6);
  EXPECT_TRUE(out.ok()) << ip << ": " << out.status();
  return out.ok() ? *out : "";
}

TEST(CanonicalizeIpPrefixTest, TruncatesIpv4ToItsPrefix) {
  EXPECT_EQ(Prefix("203.0.113.77", 24, 64), "203.0.113.0/24");
  EXPECT_EQ(Prefix("203.0.113.255", 24, 128), "203.0.113.0/24");
  EXPECT_EQ(Prefix("203.0.113.77", 20, 128), "203.0.112.0/20");
  EXPECT_EQ(Prefix("203.0.113.77", 16, 128), "203.0.0.0/16");
  EXPECT_EQ(Prefix("203.0.113.77", 1, 128), "128.0.0.0/1");
  EXPECT_EQ(Prefix("203.0.113.77", 31, 128), "203.0.113.76/31");
  // An IPv4-mapped address is IPv4 and takes the IPv4 prefix.
  EXPECT_EQ(Prefix("::ffff:203.0.113.77", 24, 64), "203.0.113.0/24");
}

TEST(CanonicalizeIpPrefixTest, TruncatesIpv6ToItsPrefix) {
  EXPECT_EQ(Prefix("2001:DB8:1:2:3:4:5:6", 24, 64), "2001:db8:1:2::/64");
  EXPECT_EQ(Prefix("2001:db8:1:2:ffff::1", 32, 56), "2001:db8:1::/56");
  EXPECT_EQ(Prefix("2001:db8:1:2ff::1", 32, 56), "2001:db8:1:200::/56");
  EXPECT_EQ(Prefix("2001:db8:abcd:12::1", 32, 48), "2001:db8:abcd::/48");
  EXPECT_EQ(Prefix("2001:db8::1", 32, 127), "2001:db8::/127");
}

TEST(CanonicalizeIpPrefixTest, ZeroPrefixKeepsNothing) {
  EXPECT_EQ(Prefix("203.0.113.77", 0, 0), "0.0.0.0/0");
  EXPECT_EQ(Prefix("2001:db8::1", 0, 0), "::/0");
}

TEST(CanonicalizeIpPrefixTest, FullLengthPrefixIsThePlainCanonicalAddress) {
  EXPECT_EQ(Prefix("203.0.113.77", 32, 128), "203.0.113.77");
  EXPECT_EQ(Prefix("::FFFF:203.0.113.77", 32, 128), "203.0.113.77");
  EXPECT_EQ(Prefix("2001:0DB8:0000::0001", 32, 128), "2001:db8::1");
  // Each family uses its own prefix only.
  EXPECT_EQ(Prefix("203.0.113.77", 32, 64), "203.0.113.77");
  EXPECT_EQ(Prefix("2001:db8::1", 24, 128), "2001:db8::1");
}

TEST(CanonicalizeIpPrefixTest, RejectsWhatIsNotAnAddress) {
  for (const std::string& bad : {std::string("203.0.113.0/24"),
                                 std::string("example.com"), std::string("")}) {
    EXPECT_EQ(CanonicalizeIpPrefix(bad, 24, 64).status().code(),
              absl::StatusCode::kInvalidArgument)
        << bad;
  }
}

TEST_F(SubjectKeyTest, IpPrefixOfThePolicyDecidesTheStoredValue) {
  Policy net = MakePolicy("per_net", {"ip"});
  net.ipv4_prefix = 24;
  net.ipv6_prefix = 64;
  absl::StatusOr<DerivedKey> a =
      DeriveSubjectKey(net, {{"ip", "203.0.113.7"}}, "key", KeyOptions{});
  absl::StatusOr<DerivedKey> b =
      DeriveSubjectKey(net, {{"ip", "203.0.113.200"}}, "key", KeyOptions{});
  absl::StatusOr<DerivedKey> other =
      DeriveSubjectKey(net, {{"ip", "203.0.114.7"}}, "key", KeyOptions{});
  absl::StatusOr<DerivedKey> v6 =
      DeriveSubjectKey(net, {{"ip", "2001:db8:0:1::7"}}, "key", KeyOptions{});
  ASSERT_TRUE(a.ok() && b.ok() && other.ok() && v6.ok());
  using Pairs = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(a->stored_values, (Pairs{{"ip", "203.0.113.0/24"}}));
  EXPECT_EQ(a->storage_key, b->storage_key);
  EXPECT_NE(a->storage_key, other->storage_key);
  EXPECT_EQ(other->stored_values, (Pairs{{"ip", "203.0.114.0/24"}}));
  EXPECT_EQ(v6->stored_values, (Pairs{{"ip", "2001:db8:0:1::/64"}}));
  // The default policy keeps whole addresses apart.
  EXPECT_NE(IpKey("203.0.113.7"), IpKey("203.0.113.200"));
}

TEST_F(SubjectKeyTest, PersonalDimensionsAreStoredAsTheirPseudonym) {
  const Pseudonymizer pseudonymizer("subject-key-test-key");
  const std::set<std::string> personal = {"user", "ip"};
  KeyOptions options;
  options.pseudonymizer = &pseudonymizer;
  options.personal_dimensions = &personal;
  absl::StatusOr<DerivedKey> key = DeriveSubjectKey(
      geo_,
      {{"country", "NL"}, {"ip", "::ffff:203.0.113.7"}, {"user", "alice"}},
      "key", options);
  ASSERT_TRUE(key.ok()) << key.status();
  const std::string user = pseudonymizer.Pseudonym("user", "alice");
  // IPs are canonicalised before they are pseudonymised, so every spelling
  // of one address has one pseudonym.
  const std::string ip = pseudonymizer.Pseudonym("ip", "203.0.113.7");
  using Pairs = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(key->stored_values,
            (Pairs{{"country", "NL"}, {"ip", ip}, {"user", user}}));
  EXPECT_EQ(key->storage_key.find("alice"), std::string::npos);
  EXPECT_EQ(key->storage_key.find("203.0.113.7"), std::string::npos);
  EXPECT_NE(key->storage_key.find(user), std::string::npos);
  EXPECT_NE(key->storage_key.find("NL"), std::string::npos);

  // Without a pseudonymizer or without the list, values stay raw.
  KeyOptions no_list;
  no_list.pseudonymizer = &pseudonymizer;
  absl::StatusOr<DerivedKey> raw = DeriveSubjectKey(
      geo_, {{"country", "NL"}, {"ip", "203.0.113.7"}, {"user", "alice"}},
      "key", no_list);
  ASSERT_TRUE(raw.ok()) << raw.status();
  EXPECT_EQ(
      raw->stored_values,
      (Pairs{{"country", "NL"}, {"ip", "203.0.113.7"}, {"user", "alice"}}));
  EXPECT_EQ(
      raw->storage_key,
      Key(geo_, {{"country", "NL"}, {"ip", "203.0.113.7"}, {"user", "alice"}}));
}

TEST(IpPrefixLimiterTest, AddressesInOneNetworkShareACounter) {
  Policy net = MakePolicy("per_net", {"ip"});
  net.limit = 2;
  net.window = absl::Minutes(1);
  net.ipv4_prefix = 24;
  SimulatedClock clock;
  InMemoryCounterStore store;
  Limiter limiter(&clock, &store,
                  std::make_shared<const PolicySet>(std::vector<Policy>{net}));
  auto check = [&limiter](const std::string& ip) {
    Request request;
    SubjectRequest subject;
    subject.policy = "per_net";
    subject.key = {{"ip", ip}};
    request.subjects.push_back(subject);
    absl::StatusOr<Response> response = limiter.Check(request);
    EXPECT_TRUE(response.ok()) << response.status();
    return response.ok() ? response->verdicts.at(0) : Verdict{};
  };
  EXPECT_EQ(check("203.0.113.7").count, 1u);
  EXPECT_EQ(check("203.0.113.200").count, 2u);
  const Verdict third = check("203.0.113.9");
  EXPECT_EQ(third.decision, Decision::kDeny);
  EXPECT_EQ(third.count, 2u);
  // Another network has its own counter.
  const Verdict other = check("203.0.114.9");
  EXPECT_EQ(other.decision, Decision::kAllow);
  EXPECT_EQ(other.count, 1u);
  EXPECT_EQ(store.size(), 2u);
}

TEST(IsCleanUtf8Test, AcceptsPrintableUtf8) {
  EXPECT_TRUE(IsCleanUtf8(""));
  EXPECT_TRUE(IsCleanUtf8("alice@example.com"));
  EXPECT_TRUE(IsCleanUtf8("J\xc3\xb6rg"));       // U+00F6
  EXPECT_TRUE(IsCleanUtf8("\xc2\xa0"));          // U+00A0, after C1
  EXPECT_TRUE(IsCleanUtf8("\xe2\x82\xac"));      // U+20AC
  EXPECT_TRUE(IsCleanUtf8("\xef\xbf\xbd"));      // U+FFFD
  EXPECT_TRUE(IsCleanUtf8("\xf0\x9f\x94\x91"));  // U+1F511
  EXPECT_TRUE(IsCleanUtf8("\xf4\x8f\xbf\xbf"));  // U+10FFFF
}

TEST(IsCleanUtf8Test, RejectsControlsAndMalformedSequences) {
  for (const std::string& bad : {
           std::string("\0", 1),
           std::string("a\x1f"),
           std::string("\x7f"),
           std::string("\xc2\x80"),
           std::string("\xc2\x9f"),  // C1
           std::string("\x80"),
           std::string("\xbf"),  // continuation
           std::string("\xc3"),
           std::string("\xe2\x82"),  // truncated
           std::string("\xf0\x9f\x94"),
           std::string("\xc3\x28"),
           std::string("\xc0\x80"),
           std::string("\xe0\x80\xaf"),  // overlong
           std::string("\xf0\x80\x80\xaf"),
           std::string("\xed\xa0\x80"),
           std::string("\xed\xbf\xbf"),      // UTF-16
           std::string("\xf4\x90\x80\x80"),  // Above U+10FFFF.
           std::string("\xf8\x88\x80\x80\x80"),
           std::string("\xff"),
       }) {
    EXPECT_FALSE(IsCleanUtf8(bad)) << absl::CHexEscape(bad);
  }
}

}  // namespace
}  // namespace gatehouse
