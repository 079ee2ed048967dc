// Exempt and deny networks: an exempt ip is never counted nor denied, a
// denylisted one always denied; deny wins; matched on the address as sent
// (IPv4-mapped IPv6 included), and changed by a reload without losing
// counters.

#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "service/core/audit_event.h"
#include "service/core/ip_prefix_table.h"
#include "service/core/limiter.h"
#include "service/core/policy.h"
#include "tests/core/limiter_test_util.h"

namespace gatehouse {
namespace {

using core_test::MakePolicy;
using core_test::MakeRequest;
using core_test::Subject;

std::shared_ptr<const IpPrefixTable> Table(
    const std::vector<std::pair<std::string, std::string>>& prefixes) {
  std::vector<IpPrefixTable::Entry> entries;
  for (const auto& [prefix, reason] : prefixes) {
    entries.push_back({ParseIpPrefix(prefix).value(), reason});
  }
  return std::make_shared<const IpPrefixTable>(std::move(entries));
}

// "login_ip": 2 per minute per ip; office 10.0.0.0/8 and 2001:db8::/32
// exempt, 198.51.100.0/24 and 10.66.0.0/16 (inside the office range)
// denied.
class LimiterNetworkTest : public core_test::LimiterFixture {
 protected:
  void SetUp() override { Install({Login()}); }

  static Policy Login(PolicyMode mode = PolicyMode::kEnforce) {
    Policy p = MakePolicy("login_ip", {"ip"}, 2, absl::Minutes(1));
    p.mode = mode;
    p.exempt = {Table({{"10.0.0.0/8", ""}, {"2001:db8::/32", ""}})};
    p.deny = {Table({{"198.51.100.0/24", "credential stuffing"},
                     {"10.66.0.0/16", "compromised build farm"}})};
    return p;
  }

  static SubjectRequest Ip(const std::string& ip, uint64_t hits = 1) {
    return Subject("login_ip", {{"ip", ip}}, hits);
  }

  std::vector<AuditEvent> Events() const {
    absl::StatusOr<std::vector<AuditEvent>> events = memory_.Read(1, 1000);
    EXPECT_TRUE(events.ok()) << events.status();
    return events.ok() ? *events : std::vector<AuditEvent>{};
  }
};

TEST_F(LimiterNetworkTest, ExemptIsNeverCountedNorDenied) {
  for (int i = 0; i < 5; ++i) {
    for (Operation op :
         {Operation::kCheck, Operation::kRecord, Operation::kPeek}) {
      const Verdict v = RunOne(op, Ip("10.1.2.3", 3));
      EXPECT_EQ(v.decision, Decision::kAllow) << OperationName(op);
      EXPECT_EQ(v.reason, VerdictReason::kExempt);
      EXPECT_EQ(v.network, "10.0.0.0/8");
      EXPECT_EQ(v.count, 0u);
      EXPECT_FALSE(v.ceiling_hit);
      EXPECT_EQ(v.retry_after, absl::ZeroDuration());
    }
  }
  EXPECT_EQ(memory_.size(), 0u);
  EXPECT_EQ(store_.counter_commits(), 0);
  // Check and Record are audited, saying why; the allowed Peeks are not.
  const std::vector<AuditEvent> events = Events();
  ASSERT_EQ(events.size(), 10u);
  EXPECT_EQ(events[0].reason, VerdictReason::kExempt);
  EXPECT_EQ(events[0].network, "10.0.0.0/8");
  EXPECT_EQ(events[0].count, 0u);
  // Others are counted as usual.
  EXPECT_EQ(Check(Ip("203.0.113.7", 2)).decision, Decision::kAllow);
  const Verdict over = Check(Ip("203.0.113.7"));
  EXPECT_EQ(over.decision, Decision::kDeny);
  EXPECT_EQ(over.reason, VerdictReason::kNone);
  EXPECT_EQ(over.network, "");
}

TEST_F(LimiterNetworkTest, DenylistedIsAlwaysDeniedAndCheckCountsNothing) {
  for (Operation op : {Operation::kCheck, Operation::kPeek}) {
    const Verdict v = RunOne(op, Ip("198.51.100.9"));
    EXPECT_EQ(v.decision, Decision::kDeny) << OperationName(op);
    EXPECT_EQ(v.reason, VerdictReason::kDenylisted);
    EXPECT_EQ(v.network, "198.51.100.0/24");
    EXPECT_EQ(v.deny_reason, "credential stuffing");
    EXPECT_EQ(v.count, 0u);
    // No end is known: a window is the least a caller should wait.
    EXPECT_EQ(v.retry_after, absl::Minutes(1));
    EXPECT_FALSE(v.locked_until.has_value());
  }
  EXPECT_EQ(memory_.size(), 0u);
  // Both audited (a denied Peek is), with the deny entry.
  const std::vector<AuditEvent> events = Events();
  ASSERT_EQ(events.size(), 2u);
  for (const AuditEvent& e : events) {
    EXPECT_EQ(e.decision, Decision::kDeny);
    EXPECT_EQ(e.reason, VerdictReason::kDenylisted);
    EXPECT_EQ(e.network, "198.51.100.0/24");
    EXPECT_EQ(e.deny_reason, "credential stuffing");
  }
  // Record counts what happened, as during a lockout, and still denies.
  const Verdict recorded = Record(Ip("198.51.100.9"));
  EXPECT_EQ(recorded.decision, Decision::kDeny);
  EXPECT_EQ(recorded.reason, VerdictReason::kDenylisted);
  EXPECT_EQ(recorded.count, 1u);
}

TEST_F(LimiterNetworkTest, DenyWinsOverExempt) {
  const Verdict v = Check(Ip("10.66.1.1"));
  EXPECT_EQ(v.decision, Decision::kDeny);
  EXPECT_EQ(v.reason, VerdictReason::kDenylisted);
  EXPECT_EQ(v.network, "10.66.0.0/16");
  EXPECT_EQ(v.deny_reason, "compromised build farm");
}

TEST_F(LimiterNetworkTest, Ipv4MappedAddressesMatchIpv4Networks) {
  const Verdict denied = Check(Ip("::ffff:198.51.100.200"));
  EXPECT_EQ(denied.decision, Decision::kDeny);
  EXPECT_EQ(denied.reason, VerdictReason::kDenylisted);
  const Verdict exempt = Check(Ip("::FFFF:10.0.0.1", 5));
  EXPECT_EQ(exempt.decision, Decision::kAllow);
  EXPECT_EQ(exempt.reason, VerdictReason::kExempt);
  const Verdict v6 = Check(Ip("2001:DB8:1::1", 5));
  EXPECT_EQ(v6.reason, VerdictReason::kExempt);
  EXPECT_EQ(v6.network, "2001:db8::/32");
  // IPv4-compatible (not mapped) is another address.
  EXPECT_EQ(Check(Ip("::198.51.100.200")).reason, VerdictReason::kNone);
}

TEST_F(LimiterNetworkTest, OneDenylistedSubjectDeniesTheWholeCheck) {
  const Response r = Run(Operation::kCheck,
                         MakeRequest({Ip("203.0.113.7"), Ip("198.51.100.1")}));
  EXPECT_FALSE(r.allowed);
  ASSERT_EQ(r.verdicts.size(), 2u);
  EXPECT_EQ(r.verdicts[1].decision, Decision::kDeny);
  EXPECT_EQ(r.verdicts[1].reason, VerdictReason::kDenylisted);
  EXPECT_EQ(memory_.size(), 0u);
  EXPECT_EQ(Peek(Ip("203.0.113.7")).count, 0u);
}

TEST_F(LimiterNetworkTest, AnExemptSubjectBesideOthersCountsOnlyThem) {
  const Response r =
      Run(Operation::kCheck, MakeRequest({Ip("203.0.113.7"), Ip("10.9.9.9")}));
  EXPECT_TRUE(r.allowed);
  ASSERT_EQ(r.verdicts.size(), 2u);
  EXPECT_EQ(r.verdicts[0].count, 1u);
  EXPECT_EQ(r.verdicts[1].reason, VerdictReason::kExempt);
  EXPECT_EQ(r.verdicts[1].count, 0u);
  EXPECT_EQ(memory_.size(), 1u);
}

TEST_F(LimiterNetworkTest, ShadowPolicyReportsTheDenyWithoutEnforcingIt) {
  Install({Login(PolicyMode::kShadow)});
  const Verdict v = Check(Ip("198.51.100.9"));
  EXPECT_EQ(v.decision, Decision::kAllow);
  EXPECT_TRUE(v.shadow);
  EXPECT_EQ(v.shadow_decision, Decision::kDeny);
  EXPECT_EQ(v.reason, VerdictReason::kDenylisted);
  // Counted as any shadow-denied Check is.
  EXPECT_EQ(v.count, 1u);
  const Verdict exempt = Check(Ip("10.1.1.1"));
  EXPECT_EQ(exempt.shadow_decision, Decision::kAllow);
  EXPECT_EQ(exempt.reason, VerdictReason::kExempt);
}

TEST_F(LimiterNetworkTest, MatchesTheAddressAsSentNotTheTruncatedKey) {
  Policy p = MakePolicy("login_ip", {"ip"}, 2, absl::Minutes(1));
  p.ipv4_prefix = 24;
  p.exempt = {Table({{"203.0.113.7/32", ""}})};
  Install({p});
  EXPECT_EQ(Check(Ip("203.0.113.7", 5)).reason, VerdictReason::kExempt);
  const Verdict counted = Check(Ip("203.0.113.8"));
  EXPECT_EQ(counted.reason, VerdictReason::kNone);
  EXPECT_EQ(counted.count, 1u);
}

TEST_F(LimiterNetworkTest, AReloadChangesTheListsAndKeepsCounters) {
  Policy plain = MakePolicy("login_ip", {"ip"}, 2, absl::Minutes(1));
  Install({plain});
  EXPECT_EQ(Check(Ip("203.0.113.7")).count, 1u);

  Policy exempting = plain;
  exempting.exempt = {Table({{"203.0.113.0/24", ""}})};
  Install({exempting});
  const Verdict exempt = Check(Ip("203.0.113.7", 5));
  EXPECT_EQ(exempt.reason, VerdictReason::kExempt);
  EXPECT_EQ(exempt.count, 1u);  // The stored count, untouched.

  Policy denying = plain;
  denying.deny = {Table({{"203.0.113.0/24", "incident"}})};
  Install({denying});
  EXPECT_EQ(Check(Ip("203.0.113.7")).reason, VerdictReason::kDenylisted);

  Install({plain});
  const Verdict counted = Check(Ip("203.0.113.7"));
  EXPECT_EQ(counted.decision, Decision::kAllow);
  EXPECT_EQ(counted.reason, VerdictReason::kNone);
  EXPECT_EQ(counted.count, 2u);
}

TEST_F(LimiterNetworkTest, ResetClearsWhateverTheNetworksSay) {
  EXPECT_EQ(Record(Ip("198.51.100.9")).count, 1u);
  const Verdict reset = Reset(Ip("198.51.100.9"));
  EXPECT_EQ(reset.decision, Decision::kAllow);
  EXPECT_EQ(reset.reason, VerdictReason::kNone);
  EXPECT_EQ(memory_.size(), 0u);
}

TEST_F(LimiterNetworkTest, PolicyOwnEntryIsReportedBeforeTheTopLevelOne) {
  Policy p = MakePolicy("login_ip", {"ip"}, 2, absl::Minutes(1));
  p.deny = {Table({{"198.51.100.0/24", "own"}}),
            Table({{"198.51.100.0/24", "top"}, {"198.51.0.0/16", "top16"}})};
  Install({p});
  EXPECT_EQ(Check(Ip("198.51.100.1")).deny_reason, "own");
  EXPECT_EQ(Check(Ip("198.51.7.1")).deny_reason, "top16");
}

}  // namespace
}  // namespace gatehouse
