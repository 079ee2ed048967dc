// The audit events the Limiter commits with its counter changes: one per
// subject for Check / Record / Reset, only denials for Peek, gap-free
// sequences matching the verdicts, pseudonymised personal values, and
// nothing at all when the commit fails.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "service/clock/simulated_clock.h"
#include "service/core/audit_event.h"
#include "service/core/counter_store.h"
#include "service/core/in_memory_counter_store.h"
#include "service/core/limiter.h"
#include "service/core/policy.h"
#include "service/core/pseudonymizer.h"
#include "service/core/request.h"
#include "service/core/verdict.h"
#include "tests/core/limiter_test_util.h"
#include "tests/testing/fault_injecting_counter_store.h"

namespace gatehouse {
namespace {

using core_test::AlignedStart;
using core_test::MakePolicy;
using core_test::MakeRequest;
using core_test::Subject;
using core_test::ToString;
using testing::FaultInjectingCounterStore;

using Pairs = std::vector<std::pair<std::string, std::string>>;

const int64_t kStartMs = absl::ToUnixMillis(AlignedStart());

class LimiterAuditTest : public ::testing::Test {
 protected:
  // (Re)creates the limiter over `store` with these policies.
  void Install(
      std::vector<Policy> policies,
      std::set<std::string> personal = PolicySet::DefaultPersonalDimensions(),
      const Pseudonymizer* pseudonymizer = nullptr,
      CounterStore* store = nullptr) {
    limiter_ =
        std::make_unique<Limiter>(&clock_, store != nullptr ? store : &store_,
                                  std::make_shared<const PolicySet>(
                                      std::move(policies), std::move(personal)),
                                  pseudonymizer);
  }

  Response Run(Operation op, const Request& request) {
    absl::StatusOr<Response> response = limiter_->Run(op, request);
    EXPECT_TRUE(response.ok())
        << OperationName(op) << ": " << response.status();
    if (!response.ok()) return Response{};
    EXPECT_EQ(response->verdicts.size(), request.subjects.size());
    return *std::move(response);
  }

  // The whole audit log of store_, which must start at sequence 1.
  std::vector<AuditEvent> Events() const {
    const InMemoryCounterStore& log = memory_;
    EXPECT_EQ(log.OldestSequence(), 1u);
    absl::StatusOr<std::vector<AuditEvent>> events = log.Read(1, 100000);
    EXPECT_TRUE(events.ok()) << events.status();
    return events.ok() ? *events : std::vector<AuditEvent>{};
  }

  SimulatedClock clock_{AlignedStart()};
  InMemoryCounterStore memory_;
  FaultInjectingCounterStore store_{&memory_};
  std::unique_ptr<Limiter> limiter_;
};

TEST_F(LimiterAuditTest, CheckAppendsOneEventPerSubjectWithEveryField) {
  Install({MakePolicy("login_ip", {"ip"}, 5, absl::Minutes(1)),
           MakePolicy("per_route", {"route"}, 10, absl::Hours(1))});
  Request request = MakeRequest({Subject("login_ip", {{"ip", "203.0.113.7"}}),
                                 Subject("per_route", {{"route", "r1"}}, 3)});
  request.client_id = "web-frontend";
  request.context = {{"route", "/login"}, {"ua", "curl/8"}};
  const Response response = Run(Operation::kCheck, request);
  ASSERT_EQ(response.verdicts.size(), 2u);
  EXPECT_TRUE(response.allowed);

  const std::vector<AuditEvent> events = Events();
  ASSERT_EQ(events.size(), 2u);
  const AuditEvent& ip = events[0];
  EXPECT_EQ(ip.sequence, 1u);
  EXPECT_EQ(ip.time_ms, kStartMs);
  EXPECT_EQ(ip.client_id, "web-frontend");
  EXPECT_EQ(ip.op, Operation::kCheck);
  EXPECT_EQ(ip.policy, "login_ip");
  EXPECT_EQ(ip.key, (Pairs{{"ip", "203.0.113.7"}}));
  EXPECT_EQ(ToString(ip.decision), "ALLOW");
  EXPECT_FALSE(ip.shadow);
  EXPECT_EQ(ip.hits, 1u);
  EXPECT_EQ(ip.count, 1u);
  EXPECT_EQ(ip.limit, 5u);
  EXPECT_EQ(ip.window_ms, 60'000);
  EXPECT_FALSE(ip.ceiling_hit);
  EXPECT_EQ(ip.locked_until_ms, 0);
  EXPECT_EQ(ip.context, request.context);

  const AuditEvent& route = events[1];
  EXPECT_EQ(route.sequence, 2u);
  EXPECT_EQ(route.policy, "per_route");
  EXPECT_EQ(route.key, (Pairs{{"route", "r1"}}));
  EXPECT_EQ(route.hits, 3u);
  EXPECT_EQ(route.count, 3u);
  EXPECT_EQ(route.limit, 10u);
  EXPECT_EQ(route.window_ms, 3'600'000);
  EXPECT_EQ(route.client_id, "web-frontend");
  EXPECT_EQ(route.context, request.context);

  EXPECT_EQ(response.verdicts[0].audit_sequence, 1u);
  EXPECT_EQ(response.verdicts[1].audit_sequence, 2u);
}

TEST_F(LimiterAuditTest, DeniedCheckAppendsDenyEventsAndCountsNothing) {
  Install({MakePolicy("login_ip", {"ip"}, 1, absl::Minutes(1)),
           MakePolicy("per_user", {"user"}, 10, absl::Minutes(1))});
  const SubjectRequest ip = Subject("login_ip", {{"ip", "203.0.113.7"}});
  const SubjectRequest user = Subject("per_user", {{"user", "bob"}});
  Run(Operation::kCheck, MakeRequest({ip}));
  const auto before = store_.Snapshot();
  const int commits_before = store_.counter_commits();

  clock_.Advance(absl::Seconds(2));
  const Response denied = Run(Operation::kCheck, MakeRequest({ip, user}));
  EXPECT_FALSE(denied.allowed);
  // Nothing counted: the allowed subject of a denied request neither.
  EXPECT_EQ(store_.Snapshot(), before);
  EXPECT_EQ(store_.counter_commits(), commits_before);

  const std::vector<AuditEvent> events = Events();
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[1].sequence, 2u);
  EXPECT_EQ(events[1].op, Operation::kCheck);
  EXPECT_EQ(events[1].policy, "login_ip");
  EXPECT_EQ(ToString(events[1].decision), "DENY");
  EXPECT_EQ(events[1].count, 1u);
  EXPECT_EQ(events[1].hits, 1u);
  EXPECT_EQ(events[1].time_ms, kStartMs + 2000);
  EXPECT_EQ(events[2].sequence, 3u);
  EXPECT_EQ(events[2].policy, "per_user");
  EXPECT_EQ(ToString(events[2].decision), "ALLOW");
  EXPECT_EQ(events[2].count, 0u);
  ASSERT_EQ(denied.verdicts.size(), 2u);
  EXPECT_EQ(denied.verdicts[0].audit_sequence, 2u);
  EXPECT_EQ(denied.verdicts[1].audit_sequence, 3u);
}

TEST_F(LimiterAuditTest, PeekAppendsEventsOnlyForDeniedSubjects) {
  Install({MakePolicy("login_ip", {"ip"}, 1, absl::Minutes(1)),
           MakePolicy("per_user", {"user"}, 10, absl::Minutes(1))});
  const SubjectRequest ip = Subject("login_ip", {{"ip", "203.0.113.7"}});
  const SubjectRequest user = Subject("per_user", {{"user", "bob"}});

  const Response allowed = Run(Operation::kPeek, MakeRequest({ip, user}));
  EXPECT_TRUE(allowed.allowed);
  ASSERT_EQ(allowed.verdicts.size(), 2u);
  EXPECT_EQ(allowed.verdicts[0].audit_sequence, 0u);
  EXPECT_EQ(allowed.verdicts[1].audit_sequence, 0u);
  EXPECT_EQ(memory_.HeadSequence(), 0u);

  Run(Operation::kCheck, MakeRequest({ip}));  // Sequence 1.
  const Response denied = Run(Operation::kPeek, MakeRequest({user, ip}));
  EXPECT_FALSE(denied.allowed);
  ASSERT_EQ(denied.verdicts.size(), 2u);
  EXPECT_EQ(denied.verdicts[0].audit_sequence, 0u);
  EXPECT_EQ(denied.verdicts[1].audit_sequence, 2u);

  const std::vector<AuditEvent> events = Events();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].sequence, 2u);
  EXPECT_EQ(events[1].op, Operation::kPeek);
  EXPECT_EQ(events[1].policy, "login_ip");
  EXPECT_EQ(ToString(events[1].decision), "DENY");
  EXPECT_EQ(events[1].count, 1u);
}

TEST_F(LimiterAuditTest, RecordAndResetEventsCarryCeilingAndLockout) {
  Policy policy = MakePolicy("failed_auth", {"user"}, 2, absl::Minutes(15));
  policy.lockout = LockoutSpec{absl::Minutes(10), 2, absl::Hours(1)};
  Install({policy});
  const SubjectRequest bob = Subject("failed_auth", {{"user", "bob"}});

  Run(Operation::kRecord, MakeRequest({bob}));
  clock_.Advance(absl::Seconds(1));
  const Response second = Run(Operation::kRecord, MakeRequest({bob}));
  ASSERT_EQ(second.verdicts.size(), 1u);
  EXPECT_TRUE(second.verdicts[0].ceiling_hit);
  clock_.Advance(absl::Seconds(1));
  Run(Operation::kCheck, MakeRequest({bob}));
  clock_.Advance(absl::Seconds(1));
  Run(Operation::kReset, MakeRequest({bob}));

  const int64_t locked_until = kStartMs + 1000 + 10 * 60'000;
  const std::vector<AuditEvent> events = Events();
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[0].op, Operation::kRecord);
  EXPECT_EQ(ToString(events[0].decision), "ALLOW");
  EXPECT_EQ(events[0].count, 1u);
  EXPECT_FALSE(events[0].ceiling_hit);
  EXPECT_EQ(events[0].locked_until_ms, 0);

  EXPECT_EQ(events[1].op, Operation::kRecord);
  EXPECT_EQ(ToString(events[1].decision), "DENY");
  EXPECT_EQ(events[1].count, 2u);
  EXPECT_TRUE(events[1].ceiling_hit);
  EXPECT_EQ(events[1].locked_until_ms, locked_until);
  EXPECT_EQ(events[1].time_ms, kStartMs + 1000);

  // Locked out: denied, no new ceiling, the same lockout end.
  EXPECT_EQ(events[2].op, Operation::kCheck);
  EXPECT_EQ(ToString(events[2].decision), "DENY");
  EXPECT_FALSE(events[2].ceiling_hit);
  EXPECT_EQ(events[2].locked_until_ms, locked_until);

  EXPECT_EQ(events[3].op, Operation::kReset);
  EXPECT_EQ(ToString(events[3].decision), "ALLOW");
  EXPECT_EQ(events[3].count, 0u);
  EXPECT_EQ(events[3].locked_until_ms, 0);
  EXPECT_EQ(events[3].time_ms, kStartMs + 3000);
  EXPECT_EQ(events[3].window_ms, 15 * 60'000);
}

TEST_F(LimiterAuditTest, SequencesHaveNoGapsAndMatchEveryVerdict) {
  Install({MakePolicy("login_ip", {"ip"}, 3, absl::Minutes(1)),
           MakePolicy("per_user", {"user"}, 2, absl::Minutes(1))});
  const std::vector<Operation> ops = {Operation::kCheck, Operation::kPeek,
                                      Operation::kRecord, Operation::kCheck,
                                      Operation::kReset};
  // Every verdict that got an event, by its sequence.
  std::map<uint64_t, std::pair<Operation, std::string>> expected;
  int peeks_allowed = 0;
  for (int round = 0; round < 6; ++round) {
    for (Operation op : ops) {
      const Request request =
          MakeRequest({Subject("login_ip", {{"ip", "203.0.113.7"}}),
                       Subject("per_user", {{"user", "bob"}}, 2)});
      const Response response = Run(op, request);
      for (const Verdict& v : response.verdicts) {
        if (v.audit_sequence == 0) {
          EXPECT_EQ(op, Operation::kPeek);
          EXPECT_EQ(ToString(v.decision), "ALLOW");
          ++peeks_allowed;
          continue;
        }
        EXPECT_TRUE(
            expected.emplace(v.audit_sequence, std::make_pair(op, v.policy))
                .second)
            << "sequence " << v.audit_sequence << " given twice";
      }
      clock_.Advance(absl::Seconds(1));
    }
  }
  EXPECT_GT(peeks_allowed, 0);

  const std::vector<AuditEvent> events = Events();
  ASSERT_EQ(events.size(), expected.size());
  ASSERT_EQ(memory_.HeadSequence(), events.size());
  uint64_t want = 1;
  for (const AuditEvent& e : events) {
    EXPECT_EQ(e.sequence, want);
    auto it = expected.find(e.sequence);
    ASSERT_NE(it, expected.end()) << "no verdict names sequence " << want;
    EXPECT_EQ(e.op, it->second.first);
    EXPECT_EQ(e.policy, it->second.second);
    ++want;
  }
}

TEST_F(LimiterAuditTest, ShadowPolicyEventsCarryWhatEnforceWouldDecide) {
  Policy shadow = MakePolicy("trial", {"ip"}, 1, absl::Minutes(1));
  shadow.mode = PolicyMode::kShadow;
  Install({shadow});
  const SubjectRequest ip = Subject("trial", {{"ip", "203.0.113.7"}});
  Run(Operation::kCheck, MakeRequest({ip}));
  const Response second = Run(Operation::kCheck, MakeRequest({ip}));
  EXPECT_TRUE(second.allowed);

  const std::vector<AuditEvent> events = Events();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_TRUE(events[0].shadow);
  EXPECT_EQ(ToString(events[0].shadow_decision), "ALLOW");
  EXPECT_EQ(ToString(events[0].decision), "ALLOW");
  EXPECT_TRUE(events[0].ceiling_hit);
  EXPECT_TRUE(events[1].shadow);
  EXPECT_EQ(ToString(events[1].decision), "ALLOW");
  EXPECT_EQ(ToString(events[1].shadow_decision), "DENY");
  // Shadow mode counts what it lets through.
  EXPECT_EQ(events[1].count, 2u);
  EXPECT_FALSE(events[1].ceiling_hit);
}

// True when `needle` occurs anywhere in the event's text fields.
bool EventMentions(const AuditEvent& e, const std::string& needle) {
  auto has = [&needle](const std::string& s) {
    return absl::StrContains(s, needle);
  };
  if (has(e.client_id) || has(e.policy)) return true;
  for (const auto& [dim, value] : e.key) {
    if (has(dim) || has(value)) return true;
  }
  for (const auto& [k, v] : e.context) {
    if (has(k) || has(v)) return true;
  }
  return false;
}

TEST_F(LimiterAuditTest, PersonalValuesArePseudonymisedInStorageAndEvents) {
  const Pseudonymizer pseudonymizer("audit-test-key-0123456789abcdef");
  Policy policy = MakePolicy("failed_auth_user_ip", {"email", "ip", "user"}, 1,
                             absl::Minutes(1));
  Install({policy}, {"user"}, &pseudonymizer);
  const std::string raw = "alice@example.com";
  const SubjectRequest subject =
      Subject("failed_auth_user_ip",
              {{"user", raw}, {"ip", "::FFFF:203.0.113.7"}, {"email", "e1"}});
  for (Operation op : {Operation::kCheck, Operation::kCheck, Operation::kPeek,
                       Operation::kRecord, Operation::kReset}) {
    Run(op, MakeRequest({subject}));
  }
  const std::string pseudonym = pseudonymizer.Pseudonym("user", raw);
  ASSERT_EQ(pseudonym.size(), 28u);

  // The counter was stored (Reset deleted it, so look at every key written).
  ASSERT_EQ(store_.counter_commits(), 3);
  Run(Operation::kRecord, MakeRequest({subject}));
  const auto snapshot = store_.Snapshot();
  ASSERT_EQ(snapshot.size(), 1u);
  const std::string& storage_key = snapshot.begin()->first;
  EXPECT_FALSE(absl::StrContains(storage_key, raw));
  EXPECT_TRUE(absl::StrContains(storage_key, pseudonym));
  EXPECT_TRUE(absl::StrContains(storage_key, "203.0.113.7"));
  EXPECT_FALSE(absl::StrContains(storage_key, "FFFF"));

  const std::vector<AuditEvent> events = Events();
  ASSERT_EQ(events.size(), 6u);
  for (const AuditEvent& e : events) {
    SCOPED_TRACE(e.sequence);
    EXPECT_FALSE(EventMentions(e, raw));
    EXPECT_FALSE(EventMentions(e, "alice"));
    // Only the listed personal dimension is replaced; the IP is canonical.
    EXPECT_EQ(
        e.key,
        (Pairs{{"email", "e1"}, {"ip", "203.0.113.7"}, {"user", pseudonym}}));
  }
}

TEST_F(LimiterAuditTest, EventKeyShowsTheIpPrefixCounted) {
  Policy policy = MakePolicy("per_net", {"ip"}, 10, absl::Minutes(1));
  policy.ipv4_prefix = 24;
  policy.ipv6_prefix = 48;
  Install({policy});
  Run(Operation::kCheck,
      MakeRequest({Subject("per_net", {{"ip", "203.0.113.77"}}),
                   Subject("per_net", {{"ip", "2001:DB8:AB:CD::1"}})}));
  const std::vector<AuditEvent> events = Events();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].key, (Pairs{{"ip", "203.0.113.0/24"}}));
  EXPECT_EQ(events[1].key, (Pairs{{"ip", "2001:db8:ab::/48"}}));
}

TEST_F(LimiterAuditTest, KeyNamedTwiceGetsCeilingHitOnExactlyOneEvent) {
  Install({MakePolicy("login_ip", {"ip"}, 2, absl::Minutes(1))});
  const SubjectRequest ip = Subject("login_ip", {{"ip", "203.0.113.7"}});
  // Both spellings of one address share a key.
  const SubjectRequest mapped =
      Subject("login_ip", {{"ip", "::ffff:203.0.113.7"}});
  const Response check = Run(Operation::kCheck, MakeRequest({ip, mapped}));
  EXPECT_TRUE(check.allowed);
  const Response record = Run(Operation::kRecord, MakeRequest({mapped, ip}));

  const std::vector<AuditEvent> events = Events();
  ASSERT_EQ(events.size(), 4u);
  int check_ceilings = 0;
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(events[i].op, Operation::kCheck);
    EXPECT_EQ(events[i].count, 2u);
    EXPECT_EQ(events[i].ceiling_hit, check.verdicts[i].ceiling_hit);
    check_ceilings += events[i].ceiling_hit ? 1 : 0;
  }
  EXPECT_EQ(check_ceilings, 1);
  // Already at the ceiling: recording more crosses nothing.
  EXPECT_FALSE(events[2].ceiling_hit);
  EXPECT_FALSE(events[3].ceiling_hit);
  EXPECT_EQ(events[3].count, 4u);
  EXPECT_FALSE(record.verdicts[0].ceiling_hit);
}

TEST_F(LimiterAuditTest, FailedCommitLeavesAuditLogUnchangedAndPropagates) {
  InMemoryCounterStore memory;
  FaultInjectingCounterStore failing(&memory);
  Install({MakePolicy("login_ip", {"ip"}, 1, absl::Minutes(1))},
          PolicySet::DefaultPersonalDimensions(), nullptr, &failing);
  const InMemoryCounterStore& log = memory;
  const Request request =
      MakeRequest({Subject("login_ip", {{"ip", "203.0.113.7"}})});
  ASSERT_TRUE(limiter_->Check(request).ok());
  ASSERT_EQ(log.HeadSequence(), 1u);
  const auto before = failing.Snapshot();

  // As a broken disk would: nothing applied.
  failing.FailCommits(absl::UnavailableError("disk on fire"));
  for (Operation op :
       {Operation::kCheck, Operation::kRecord, Operation::kReset}) {
    SCOPED_TRACE(OperationName(op));
    const absl::StatusOr<Response> response = limiter_->Run(op, request);
    EXPECT_EQ(response.status().code(), absl::StatusCode::kUnavailable);
    EXPECT_TRUE(absl::StrContains(response.status().message(), "disk on fire"));
    EXPECT_EQ(log.HeadSequence(), 1u);
  }
  // A Peek reads: it still answers (a denial, from the stored count) and
  // says that its audit event was not written.
  const absl::StatusOr<Response> peek = limiter_->Peek(request);
  ASSERT_TRUE(peek.ok()) << peek.status();
  EXPECT_FALSE(peek->allowed);
  EXPECT_EQ(peek->verdicts[0].count, 1u);
  EXPECT_EQ(peek->verdicts[0].audit_sequence, 0u);
  EXPECT_EQ(peek->audit_status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(log.HeadSequence(), 1u);
  EXPECT_EQ(failing.Snapshot(), before);

  // The next commit continues the log without a gap.
  failing.ClearFaults();
  const absl::StatusOr<Response> reset = limiter_->Reset(request);
  ASSERT_TRUE(reset.ok()) << reset.status();
  EXPECT_EQ(reset->verdicts[0].audit_sequence, 2u);
  absl::StatusOr<std::vector<AuditEvent>> events = log.Read(1, 10);
  ASSERT_TRUE(events.ok()) << events.status();
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[1].sequence, 2u);
  EXPECT_EQ((*events)[1].op, Operation::kReset);
}

}  // namespace
}  // namespace gatehouse
