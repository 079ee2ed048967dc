// RefusalAggregator on a real RocksDB in a temp dir with a simulated clock:
// a flood of refused calls becomes a handful of events carrying their
// counts, attacker-chosen strings are bounded, and the series are bounded.

#include "service/audit/refusal_aggregator.h"

#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "service/clock/simulated_clock.h"
#include "service/core/audit_event.h"
#include "service/storage/rocksdb_store.h"
#include "tests/testing/temp_dir.h"

namespace gatehouse {
namespace {

using ::gatehouse::testing::TempDir;

constexpr int64_t kStartMs = 1'700'000'000'000;

AuditEvent Refused(std::string reason, std::string client_id = "") {
  AuditEvent e;
  e.op = Operation::kCheck;
  e.decision = Decision::kDeny;
  e.client_id = std::move(client_id);
  e.refusal = std::move(reason);
  return e;
}

class RefusalAggregatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<RocksDbStore>> store =
        OpenRocksDbStore(dir_.Sub("db"), &clock_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    Make({});
  }

  void Make(RefusalAggregatorOptions options) {
    options.interval = absl::Seconds(10);
    aggregator_ = std::make_unique<RefusalAggregator>(&store_->counters(),
                                                      &clock_, options);
  }

  void Add(const std::string& reason, const std::string& peer) {
    absl::Status s = aggregator_->Add(Refused(reason), peer);
    EXPECT_TRUE(s.ok()) << s;
  }

  uint64_t Flush(bool all = false) {
    absl::StatusOr<uint64_t> n = aggregator_->Flush(all);
    EXPECT_TRUE(n.ok()) << n.status();
    return n.ok() ? *n : 0;
  }

  std::vector<AuditEvent> ReadAll() {
    absl::StatusOr<std::vector<AuditEvent>> events =
        store_->audit_log().Read(1, 100000);
    EXPECT_TRUE(events.ok()) << events.status();
    return events.ok() ? *events : std::vector<AuditEvent>{};
  }

  TempDir dir_;
  SimulatedClock clock_{absl::FromUnixMillis(kStartMs)};
  std::unique_ptr<RocksDbStore> store_;
  std::unique_ptr<RefusalAggregator> aggregator_;
};

TEST_F(RefusalAggregatorTest, SeriesReasonGroupsMessagesThatNameCallerStrings) {
  // Each call names a policy of its own (the caller chose it); grouped by
  // the kind of refusal, they are one series, not one per policy name.
  for (int i = 0; i < 1000; ++i) {
    AuditEvent event = Refused(
        "PERMISSION_DENIED: policy p" + std::to_string(i) + " not allowed",
        "flooder");
    event.policy = "p" + std::to_string(i);
    ASSERT_TRUE(aggregator_
                    ->Add(event, "ipv4:203.0.113.7:" + std::to_string(i),
                          "PERMISSION_DENIED: policy_not_allowed")
                    .ok());
  }
  clock_.Advance(absl::Seconds(10));
  EXPECT_EQ(Flush(), 1u);
  const std::vector<AuditEvent> events = ReadAll();
  ASSERT_EQ(events.size(), 2u);
  // The first call's own event keeps its details.
  EXPECT_EQ(events[0].refusal, "PERMISSION_DENIED: policy p0 not allowed");
  EXPECT_EQ(events[0].policy, "p0");
  EXPECT_EQ(events[0].refused_calls, 1u);
  // The count event names the kind, not one caller's strings.
  EXPECT_EQ(events[1].refusal, "PERMISSION_DENIED: policy_not_allowed");
  EXPECT_EQ(events[1].policy, "");
  EXPECT_EQ(events[1].client_id, "flooder");
  EXPECT_EQ(events[1].refused_calls, 999u);
}

TEST_F(RefusalAggregatorTest, FloodFromOnePeerBecomesOneEventPerInterval) {
  // 10,000 calls over 5 s, each on a connection of its own port.
  for (int i = 0; i < 10000; ++i) {
    Add("UNAUTHENTICATED: missing token",
        absl::StrCat("ipv4:203.0.113.7:", 1024 + i % 5000));
    if (i % 2000 == 1999) clock_.Advance(absl::Seconds(1));
  }
  // The first was written at once; the rest wait for the interval's end.
  EXPECT_EQ(store_->audit_log().HeadSequence(), 1u);
  EXPECT_EQ(Flush(), 0u);
  clock_.Advance(absl::Seconds(5));
  EXPECT_EQ(Flush(), 1u);

  std::vector<AuditEvent> events = ReadAll();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].refused_calls, 1u);
  EXPECT_EQ(events[0].peer, "ipv4:203.0.113.7");
  EXPECT_EQ(events[0].first_refused_ms, kStartMs);
  EXPECT_EQ(events[1].refused_calls, 9999u);
  EXPECT_EQ(events[1].peer, "ipv4:203.0.113.7");
  EXPECT_EQ(events[1].refusal, "UNAUTHENTICATED: missing token");
  EXPECT_EQ(events[1].decision, Decision::kDeny);
  EXPECT_EQ(events[1].first_refused_ms, kStartMs);
  EXPECT_EQ(events[1].last_refused_ms, kStartMs + 4000);
  EXPECT_EQ(events[1].time_ms, kStartMs + 10000);
  EXPECT_FALSE(events[1].truncated);
  EXPECT_EQ(aggregator_->aggregated_calls(), 9999u);
}

TEST_F(RefusalAggregatorTest, SeriesDifferByPeerClientRpcAndReason) {
  Add("UNAUTHENTICATED: missing token", "ipv4:203.0.113.7:1");
  Add("UNAUTHENTICATED: missing token", "ipv4:203.0.113.8:1");
  Add("UNAUTHENTICATED: unknown token", "ipv4:203.0.113.7:2");
  Add("UNAUTHENTICATED: missing token", "ipv6:[2001:db8::1]:443");
  ASSERT_TRUE(aggregator_
                  ->Add(Refused("PERMISSION_DENIED: no scope", "reader"),
                        "ipv4:203.0.113.7:3")
                  .ok());
  AuditEvent reset = Refused("UNAUTHENTICATED: missing token");
  reset.op = Operation::kReset;
  ASSERT_TRUE(aggregator_->Add(reset, "ipv4:203.0.113.7:4").ok());
  std::vector<AuditEvent> events = ReadAll();
  ASSERT_EQ(events.size(), 6u);
  EXPECT_EQ(events[3].peer, "ipv6:[2001:db8::1]");
  EXPECT_EQ(events[4].client_id, "reader");
  for (const AuditEvent& e : events) EXPECT_EQ(e.refused_calls, 1u);
  clock_.Advance(absl::Seconds(10));
  EXPECT_EQ(Flush(), 0u);  // Nothing repeated.
}

TEST_F(RefusalAggregatorTest, QuietSeriesIsForgottenAndWrittenAtOnceAgain) {
  Add("UNAUTHENTICATED: missing token", "ipv4:203.0.113.7:1");
  Add("UNAUTHENTICATED: missing token", "ipv4:203.0.113.7:1");
  clock_.Advance(absl::Seconds(10));
  EXPECT_EQ(Flush(), 1u);  // The repeat.
  clock_.Advance(absl::Seconds(10));
  EXPECT_EQ(Flush(), 0u);  // A quiet interval: forgotten.
  Add("UNAUTHENTICATED: missing token", "ipv4:203.0.113.7:1");
  std::vector<AuditEvent> events = ReadAll();
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[2].refused_calls, 1u);
  EXPECT_EQ(events[2].time_ms, kStartMs + 20000);
}

TEST_F(RefusalAggregatorTest, AttackerChosenStringsAreCutOnCharacterBounds) {
  // A 1 KB policy name inside the reason, in two-byte characters placed so
  // that the bound falls inside one.
  std::string reason = "PERMISSION_DENIED: may not use policy x";
  for (int i = 0; i < 512; ++i) reason += "\xc3\xa9";
  Add(reason, absl::StrCat("unix:/", std::string(200, 'p')));
  std::vector<AuditEvent> events = ReadAll();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_TRUE(events[0].truncated);
  EXPECT_LE(events[0].refusal.size(), RefusalAggregator::kMaxReasonBytes);
  EXPECT_GE(events[0].refusal.size(), RefusalAggregator::kMaxReasonBytes - 1);
  EXPECT_EQ(reason.rfind(events[0].refusal, 0), 0u);
  // No character split: the kept text ends on a whole "é".
  EXPECT_EQ(events[0].refusal.substr(events[0].refusal.size() - 2), "\xc3\xa9");
  EXPECT_EQ(events[0].peer.size(), RefusalAggregator::kMaxPeerBytes);
}

TEST_F(RefusalAggregatorTest, SeriesBeyondTheBoundShareOneOverflowSeries) {
  RefusalAggregatorOptions options;
  options.max_series = 4;
  Make(options);
  for (int round = 0; round < 3; ++round) {
    for (int peer = 0; peer < 100; ++peer) {
      Add("UNAUTHENTICATED: missing token",
          absl::StrCat("ipv4:198.51.100.", peer, ":5000"));
    }
  }
  // 4 series and the overflow one, each written once at once.
  EXPECT_EQ(store_->audit_log().HeadSequence(), 5u);
  clock_.Advance(absl::Seconds(10));
  EXPECT_EQ(Flush(), 5u);
  std::vector<AuditEvent> events = ReadAll();
  ASSERT_EQ(events.size(), 10u);
  uint64_t calls = 0;
  for (const AuditEvent& e : events) calls += e.refused_calls;
  EXPECT_EQ(calls, 300u);  // Every refused call is counted once.
  EXPECT_EQ(events[4].peer, RefusalAggregator::kOverflowPeer);
  uint64_t overflow = 0;
  for (const AuditEvent& e : events) {
    if (e.peer == RefusalAggregator::kOverflowPeer) overflow += e.refused_calls;
  }
  EXPECT_EQ(overflow, 288u);  // 96 peers, 3 rounds.
}

TEST_F(RefusalAggregatorTest, FlushAllWritesWhatIsPendingBeforeTheInterval) {
  Add("UNAUTHENTICATED: missing token", "ipv4:203.0.113.7:1");
  Add("UNAUTHENTICATED: missing token", "ipv4:203.0.113.7:1");
  Add("UNAUTHENTICATED: missing token", "ipv4:203.0.113.7:1");
  EXPECT_EQ(Flush(), 0u);
  EXPECT_EQ(Flush(/*all=*/true), 1u);
  std::vector<AuditEvent> events = ReadAll();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].refused_calls, 2u);
}

TEST_F(RefusalAggregatorTest, ConcurrentAddsAndFlushesCountEachCallOnce) {
  constexpr int kThreads = 8, kPerThread = 2000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([this, t] {
      for (int i = 0; i < kPerThread; ++i) {
        // Four series, each added to by two threads.
        Add("UNAUTHENTICATED: missing token",
            absl::StrCat("ipv4:203.0.113.", t % 4, ":", 1000 + i));
      }
    });
  }
  std::thread flusher([this] {
    for (int i = 0; i < 200; ++i) {
      clock_.Advance(absl::Seconds(1));
      Flush();
    }
  });
  for (std::thread& t : threads) t.join();
  flusher.join();
  Flush(/*all=*/true);
  uint64_t calls = 0;
  for (const AuditEvent& e : ReadAll()) calls += e.refused_calls;
  EXPECT_EQ(calls, static_cast<uint64_t>(kThreads * kPerThread));
}

}  // namespace
}  // namespace gatehouse
