// RocksDbAuditLog (and RocksDbMaintenance's retention), on a real RocksDB in a
// temp dir: gap-free sequences written with the counters, bounds that survive
// reopening and retention, reads, time search and waiting for new events.

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "service/audit/audit_storage_codec.h"
#include "service/clock/simulated_clock.h"
#include "service/core/audit_event.h"
#include "service/core/counter_state.h"
#include "service/core/counter_store.h"
#include "service/storage/rocksdb_store.h"
#include "tests/testing/temp_dir.h"

namespace gatehouse {
namespace {

using ::gatehouse::testing::TempDir;

constexpr int64_t kStartMs = 1'700'000'000'000;

AuditEvent Event(std::string policy, int64_t time_ms) {
  AuditEvent e;
  e.policy = std::move(policy);
  e.time_ms = time_ms;
  e.op = Operation::kRecord;
  e.key = {{"ip", "203.0.113.7"}};
  e.count = 3;
  e.limit = 5;
  e.window_ms = 60'000;
  return e;
}

CounterState State(uint64_t count) {
  CounterState s;
  s.bucket_ms = 1000;
  s.buckets = {{kStartMs / 1000, count}};
  s.expires_at_ms = kStartMs + 3'600'000;
  return s;
}

std::vector<uint64_t> Sequences(const std::vector<AuditEvent>& events) {
  std::vector<uint64_t> out;
  for (const AuditEvent& e : events) out.push_back(e.sequence);
  return out;
}

// Incompressible text, so bytes on disk follow the number of events.
std::string RandomLetters(std::mt19937_64& rng, size_t n) {
  std::string out(n, 'a');
  for (char& c : out) {
    c = static_cast<char>('a' + std::uniform_int_distribution<int>(0, 25)(rng));
  }
  return out;
}

std::vector<uint64_t> Range(uint64_t first, uint64_t last) {
  std::vector<uint64_t> out;
  for (uint64_t s = first; s <= last; ++s) out.push_back(s);
  return out;
}

// A refusal event as RefusalAggregator writes it: `calls` refused calls,
// incompressible reason text so bytes on disk follow the number of events.
AuditEvent Refusal(std::mt19937_64& rng, int64_t time_ms, uint64_t calls) {
  AuditEvent e;
  e.time_ms = time_ms;
  e.op = Operation::kCheck;
  e.decision = Decision::kDeny;
  e.refusal = "UNAUTHENTICATED: missing token " + RandomLetters(rng, 200);
  e.peer = "ipv4:203.0.113.7";
  e.refused_calls = calls;
  e.first_refused_ms = time_ms - 5;
  e.last_refused_ms = time_ms;
  return e;
}

// Every sequence from `from` to the last event is covered exactly once,
// a summary standing for first_sequence..sequence (the first one may begin
// before `from`).
void ExpectContiguousCoverage(const std::vector<AuditEvent>& events,
                              uint64_t from) {
  uint64_t expected = from;
  for (const AuditEvent& e : events) {
    const uint64_t first =
        e.first_sequence != 0 ? e.first_sequence : e.sequence;
    // The first may be a summary that began before `from`.
    if (expected == from) {
      EXPECT_LE(first, expected) << "event " << e.sequence;
    } else {
      EXPECT_EQ(first, expected) << "event " << e.sequence;
    }
    EXPECT_GE(e.sequence, first);
    expected = e.sequence + 1;
  }
}

class RocksDbAuditLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    Reopen();
  }

  void Reopen() {
    store_.reset();
    absl::StatusOr<std::unique_ptr<RocksDbStore>> store =
        OpenRocksDbStore(dir_.Sub("db"), &clock_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }

  // Commits `events` (and optionally counter puts); returns their sequences.
  std::vector<uint64_t> Commit(
      std::vector<AuditEvent> events,
      std::vector<std::pair<std::string, CounterState>> puts = {}) {
    WriteSet writes;
    writes.audit = std::move(events);
    writes.puts = std::move(puts);
    absl::Status s = store_->counters().Commit(writes);
    EXPECT_TRUE(s.ok()) << s;
    return Sequences(writes.audit);
  }

  // `n` single-event commits, the i-th at time_of(i).
  template <typename TimeOf>
  void CommitMany(int n, TimeOf time_of) {
    for (int i = 0; i < n; ++i) Commit({Event("p", time_of(i))});
  }

  std::vector<AuditEvent> ReadAll(uint64_t from, size_t max = 100000) {
    absl::StatusOr<std::vector<AuditEvent>> events =
        store_->audit_log().Read(from, max);
    EXPECT_TRUE(events.ok()) << events.status();
    return events.ok() ? *events : std::vector<AuditEvent>{};
  }

  uint64_t FirstAtOrAfter(int64_t ms) {
    absl::StatusOr<uint64_t> seq =
        store_->audit_log().FirstAtOrAfter(absl::FromUnixMillis(ms));
    EXPECT_TRUE(seq.ok()) << seq.status();
    return seq.ok() ? *seq : 0;
  }

  uint64_t Retain(const AuditRetention& retention) {
    absl::StatusOr<uint64_t> deleted =
        store_->maintenance().ApplyRetention(retention);
    EXPECT_TRUE(deleted.ok()) << deleted.status();
    return deleted.ok() ? *deleted : 0;
  }

  TempDir dir_;
  SimulatedClock clock_{absl::FromUnixMillis(kStartMs)};
  std::unique_ptr<RocksDbStore> store_;
};

TEST_F(RocksDbAuditLogTest, EmptyLogHasHeadZeroAndOldestOne) {
  EXPECT_EQ(store_->audit_log().HeadSequence(), 0u);
  EXPECT_EQ(store_->audit_log().OldestSequence(), 1u);
  EXPECT_TRUE(ReadAll(1).empty());
  EXPECT_EQ(FirstAtOrAfter(0), 1u);
}

TEST_F(RocksDbAuditLogTest, CommitAssignsContiguousSequencesWithTheCounters) {
  EXPECT_EQ(
      Commit({Event("a", kStartMs), Event("b", kStartMs), Event("c", kStartMs)},
             {{"c-one", State(1)}, {"c-two", State(2)}}),
      (std::vector<uint64_t>{1, 2, 3}));
  EXPECT_EQ(store_->audit_log().HeadSequence(), 3u);
  // Counter-only commits use no sequence.
  Commit({}, {{"c-three", State(3)}});
  EXPECT_EQ(store_->audit_log().HeadSequence(), 3u);
  EXPECT_EQ(Commit({Event("d", kStartMs + 1)}, {{"c-one", State(4)}}),
            (std::vector<uint64_t>{4}));

  const std::vector<AuditEvent> events = ReadAll(1);
  EXPECT_EQ(Sequences(events), (std::vector<uint64_t>{1, 2, 3, 4}));
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[0].policy, "a");
  EXPECT_EQ(events[3].policy, "d");
  EXPECT_EQ(events[3].time_ms, kStartMs + 1);
  EXPECT_EQ(events[3].op, Operation::kRecord);
  EXPECT_EQ(events[3].key, (std::vector<std::pair<std::string, std::string>>{
                               {"ip", "203.0.113.7"}}));

  absl::StatusOr<std::optional<CounterState>> one =
      store_->counters().Read("c-one");
  ASSERT_TRUE(one.ok() && one->has_value());
  EXPECT_EQ(**one, State(4));
  absl::StatusOr<std::optional<CounterState>> two =
      store_->counters().Read("c-two");
  ASSERT_TRUE(two.ok() && two->has_value());
  EXPECT_EQ(**two, State(2));
}

TEST_F(RocksDbAuditLogTest, ConcurrentCommitsLeaveNoGapsOrDuplicates) {
  constexpr int kThreads = 4;
  constexpr int kCommits = 50;
  std::vector<std::vector<uint64_t>> got(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([this, t, &got] {
      for (int i = 0; i < kCommits; ++i) {
        WriteSet writes;
        writes.audit = {Event(absl::StrCat("t", t), kStartMs),
                        Event(absl::StrCat("t", t), kStartMs)};
        writes.puts = {{absl::StrCat("c-", t), State(i + 1)}};
        if (!store_->counters().Commit(writes).ok()) return;
        // One commit's events are adjacent.
        if (writes.audit[1].sequence != writes.audit[0].sequence + 1) return;
        got[t].push_back(writes.audit[0].sequence);
        got[t].push_back(writes.audit[1].sequence);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  std::vector<uint64_t> all;
  for (const auto& g : got) {
    EXPECT_EQ(g.size(), 2u * kCommits);
    all.insert(all.end(), g.begin(), g.end());
  }
  std::sort(all.begin(), all.end());
  EXPECT_EQ(all, Range(1, 2 * kThreads * kCommits));
  EXPECT_EQ(Sequences(ReadAll(1)), Range(1, 2 * kThreads * kCommits));
}

TEST_F(RocksDbAuditLogTest,
       GroupCommittedEventsAreStoredUnderTheirOwnSequence) {
  // Enough writers that commits queue up and are written in groups.
  constexpr int kThreads = 16;
  constexpr int kCommits = 40;
  std::vector<std::vector<std::pair<uint64_t, std::string>>> got(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([this, t, &got] {
      for (int i = 0; i < kCommits; ++i) {
        WriteSet writes;
        const std::string name = absl::StrCat("t", t, "_", i);
        writes.audit = {Event(name, kStartMs)};
        writes.puts = {{absl::StrCat("c-", t), State(i + 1)}};
        if (!store_->counters().Commit(writes).ok()) return;
        got[t].emplace_back(writes.audit[0].sequence, name);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  const std::vector<AuditEvent> stored = ReadAll(1);
  ASSERT_EQ(stored.size(), size_t{kThreads * kCommits});
  for (int t = 0; t < kThreads; ++t) {
    ASSERT_EQ(got[t].size(), size_t{kCommits});
    for (const auto& [seq, name] : got[t]) {
      ASSERT_GE(seq, 1u);
      EXPECT_EQ(stored[seq - 1].policy, name) << "sequence " << seq;
    }
    // Each thread's commits are applied in its order: the last one wins.
    absl::StatusOr<std::optional<CounterState>> state =
        store_->counters().Read(absl::StrCat("c-", t));
    ASSERT_TRUE(state.ok() && state->has_value());
    EXPECT_EQ(**state, State(kCommits));
  }
  Reopen();
  EXPECT_EQ(store_->audit_log().HeadSequence(), uint64_t{kThreads * kCommits});
}

TEST_F(RocksDbAuditLogTest, BoundsSurviveReopenAndSequencesContinue) {
  Commit({Event("a", kStartMs), Event("b", kStartMs + 1)},
         {{"c-one", State(7)}});
  Commit({Event("c", kStartMs + 2)});
  Reopen();
  EXPECT_EQ(store_->audit_log().HeadSequence(), 3u);
  EXPECT_EQ(store_->audit_log().OldestSequence(), 1u);
  const std::vector<AuditEvent> events = ReadAll(1);
  ASSERT_EQ(Sequences(events), (std::vector<uint64_t>{1, 2, 3}));
  EXPECT_EQ(events[1].policy, "b");
  absl::StatusOr<std::optional<CounterState>> one =
      store_->counters().Read("c-one");
  ASSERT_TRUE(one.ok() && one->has_value());
  EXPECT_EQ(**one, State(7));

  EXPECT_EQ(Commit({Event("d", kStartMs + 3)}), (std::vector<uint64_t>{4}));
  Reopen();
  EXPECT_EQ(store_->audit_log().HeadSequence(), 4u);
  EXPECT_EQ(Sequences(ReadAll(1)), (std::vector<uint64_t>{1, 2, 3, 4}));
}

TEST_F(RocksDbAuditLogTest, ReadReturnsAContiguousRangeUpToMax) {
  CommitMany(10, [](int i) { return kStartMs + i; });
  EXPECT_EQ(Sequences(ReadAll(3, 4)), (std::vector<uint64_t>{3, 4, 5, 6}));
  EXPECT_EQ(Sequences(ReadAll(9, 100)), (std::vector<uint64_t>{9, 10}));
  EXPECT_EQ(Sequences(ReadAll(1, 1)), (std::vector<uint64_t>{1}));
  EXPECT_TRUE(ReadAll(5, 0).empty());
  EXPECT_TRUE(ReadAll(11).empty());
  EXPECT_TRUE(ReadAll(1000).empty());
  const std::vector<AuditEvent> five = ReadAll(5, 1);
  ASSERT_EQ(five.size(), 1u);
  EXPECT_EQ(five[0].time_ms, kStartMs + 4);
}

TEST_F(RocksDbAuditLogTest, ReadBelowOldestIsOutOfRangeNamingTheOldest) {
  CommitMany(10, [](int i) { return kStartMs + i * 60'000; });
  absl::StatusOr<std::vector<AuditEvent>> zero =
      store_->audit_log().Read(0, 10);
  EXPECT_EQ(zero.status().code(), absl::StatusCode::kOutOfRange);

  clock_.Set(absl::FromUnixMillis(kStartMs + 10 * 60'000));
  AuditRetention retention;
  retention.max_age = absl::Minutes(6);  // Keeps events 5..10.
  EXPECT_EQ(Retain(retention), 4u);
  ASSERT_EQ(store_->audit_log().OldestSequence(), 5u);
  for (uint64_t from : {1, 4}) {
    absl::StatusOr<std::vector<AuditEvent>> old =
        store_->audit_log().Read(from, 10);
    EXPECT_EQ(old.status().code(), absl::StatusCode::kOutOfRange);
    EXPECT_TRUE(
        absl::StrContains(old.status().message(), "the oldest available is 5"))
        << old.status();
  }
  EXPECT_EQ(Sequences(ReadAll(5)), Range(5, 10));
}

TEST_F(RocksDbAuditLogTest, FirstAtOrAfterFindsTheFirstEventOfATime) {
  // 300 events; times rise in steps of 1s, three events per step, with a
  // long gap after event 150.
  auto time_of = [](int i) {
    return kStartMs + (i / 3) * 1000 + (i >= 150 ? 3'600'000 : 0);
  };
  CommitMany(300, time_of);
  ASSERT_EQ(store_->audit_log().HeadSequence(), 300u);
  // The linear answer: sequence i + 1 holds time_of(i).
  auto expected = [&time_of](int64_t ms) -> uint64_t {
    for (int i = 0; i < 300; ++i) {
      if (time_of(i) >= ms) return i + 1;
    }
    return 301;
  };
  std::vector<int64_t> probes = {
      kStartMs - 1, kStartMs,         kStartMs + 1,
      time_of(149), time_of(149) + 1, time_of(150) - 1,
      time_of(150), time_of(299),     time_of(299) + 1};
  std::mt19937_64 rng(7);
  for (int i = 0; i < 200; ++i) {
    probes.push_back(std::uniform_int_distribution<int64_t>(
        kStartMs - 5000, time_of(299) + 5000)(rng));
  }
  for (int64_t ms : probes) {
    EXPECT_EQ(FirstAtOrAfter(ms), expected(ms)) << "at " << ms - kStartMs;
  }
  EXPECT_EQ(FirstAtOrAfter(kStartMs + 1000), 4u);
  EXPECT_EQ(FirstAtOrAfter(time_of(150)), 151u);
  EXPECT_EQ(FirstAtOrAfter(time_of(299) + 1), 301u);

  // After retention the search starts at the oldest retained event.
  clock_.Set(absl::FromUnixMillis(time_of(299)));
  AuditRetention retention;
  retention.max_age = absl::Minutes(30);
  EXPECT_EQ(Retain(retention), 150u);
  EXPECT_EQ(FirstAtOrAfter(kStartMs), 151u);
  EXPECT_EQ(FirstAtOrAfter(time_of(200)), expected(time_of(200)));
}

TEST_F(RocksDbAuditLogTest, RetentionByAgeDropsExactlyTheOldEvents) {
  // Event i (sequence i + 1) at kStartMs + i minutes.
  CommitMany(10, [](int i) { return kStartMs + i * 60'000; });
  AuditRetention retention;
  retention.max_age = absl::Minutes(5);
  // At kStartMs + 9m30s, everything from 4m30s is young: events 5..9.
  clock_.Set(absl::FromUnixMillis(kStartMs + 9 * 60'000 + 30'000));
  EXPECT_EQ(Retain(retention), 5u);
  EXPECT_EQ(store_->audit_log().OldestSequence(), 6u);
  EXPECT_EQ(store_->audit_log().HeadSequence(), 10u);
  EXPECT_EQ(Sequences(ReadAll(6)), Range(6, 10));
  // Nothing more is old yet.
  EXPECT_EQ(Retain(retention), 0u);
  EXPECT_EQ(store_->audit_log().OldestSequence(), 6u);

  // An event exactly max_age old is kept.
  clock_.Set(absl::FromUnixMillis(kStartMs + 10 * 60'000));
  EXPECT_EQ(Retain(retention), 0u);
  clock_.Advance(absl::Milliseconds(1));
  EXPECT_EQ(Retain(retention), 1u);
  EXPECT_EQ(store_->audit_log().OldestSequence(), 7u);

  Reopen();
  EXPECT_EQ(store_->audit_log().OldestSequence(), 7u);
  EXPECT_EQ(store_->audit_log().HeadSequence(), 10u);
  EXPECT_EQ(Sequences(ReadAll(7)), Range(7, 10));
}

TEST_F(RocksDbAuditLogTest, RetentionBySizeDropsTheOldestAndKeepsTheNewest) {
  std::mt19937_64 rng(11);
  constexpr int kEvents = 2000;
  for (int batch = 0; batch < kEvents / 100; ++batch) {
    std::vector<AuditEvent> events;
    for (int i = 0; i < 100; ++i) {
      AuditEvent e = Event("bulk", kStartMs + batch * 100 + i);
      e.context = {{"noise", RandomLetters(rng, 200)}};
      events.push_back(std::move(e));
    }
    Commit(std::move(events));
  }
  ASSERT_TRUE(store_->maintenance().CompactAll().ok());
  const uint64_t before = store_->maintenance().ApproximateAuditBytes();
  ASSERT_GT(before, 200u * kEvents / 2) << "sizes are not real yet";

  AuditRetention retention;
  retention.max_bytes = before / 4;
  const uint64_t deleted = Retain(retention);
  const uint64_t oldest = store_->audit_log().OldestSequence();
  EXPECT_EQ(oldest, deleted + 1);
  EXPECT_EQ(store_->audit_log().HeadSequence(), static_cast<uint64_t>(kEvents));
  // About 90% of a quarter is kept.
  const uint64_t kept = kEvents - deleted;
  EXPECT_GT(kept, kEvents / 8u);
  EXPECT_LE(kept, kEvents / 4u);
  // The newest are the ones kept, contiguous up to the head.
  EXPECT_EQ(Sequences(ReadAll(oldest)), Range(oldest, kEvents));
  EXPECT_EQ(store_->audit_log().Read(oldest - 1, 1).status().code(),
            absl::StatusCode::kOutOfRange);
  // The space is reclaimed, and the next periodic run deletes nothing more.
  EXPECT_LE(store_->maintenance().ApproximateAuditBytes(), retention.max_bytes);
  EXPECT_EQ(Retain(retention), 0u);
  EXPECT_EQ(store_->audit_log().OldestSequence(), oldest);
  ASSERT_TRUE(store_->maintenance().CompactAll().ok());
  EXPECT_EQ(Retain(retention), 0u);
  EXPECT_EQ(store_->audit_log().OldestSequence(), oldest);
  EXPECT_EQ(Sequences(ReadAll(oldest)), Range(oldest, kEvents));
}

TEST_F(RocksDbAuditLogTest, RetentionBySizeOfUnflushedEventsStopsAtBudget) {
  // Everything is still in the memtable, whose size is arena memory, not
  // the events': retention must measure the events themselves.
  std::mt19937_64 rng(5);
  uint64_t encoded = 0;
  for (int i = 0; i < 1000; ++i) {
    AuditEvent e = Event("bulk", kStartMs + i);
    e.context = {{"noise", RandomLetters(rng, 200)}};
    encoded += EncodeAuditEvent(e).size();
    Commit({std::move(e)});
  }
  AuditRetention retention;
  retention.max_bytes = encoded / 2;
  const uint64_t deleted = Retain(retention);
  const uint64_t oldest = store_->audit_log().OldestSequence();
  EXPECT_EQ(oldest, deleted + 1);
  // About half goes (on disk, events compress a little).
  EXPECT_GE(deleted, 400u);
  EXPECT_LE(deleted, 600u);
  // Later runs find the log within budget and delete nothing more.
  for (int run = 0; run < 3; ++run) {
    EXPECT_EQ(Retain(retention), 0u) << "run " << run;
  }
  EXPECT_EQ(store_->audit_log().OldestSequence(), oldest);
  EXPECT_EQ(Sequences(ReadAll(oldest)), Range(oldest, 1000));
}

TEST_F(RocksDbAuditLogTest, HeadSurvivesRetentionDeletingEveryEvent) {
  CommitMany(5, [](int i) { return kStartMs + i; });
  clock_.Advance(absl::Hours(1));
  AuditRetention retention;
  retention.max_age = absl::Minutes(1);
  EXPECT_EQ(Retain(retention), 5u);
  EXPECT_EQ(store_->audit_log().HeadSequence(), 5u);
  EXPECT_EQ(store_->audit_log().OldestSequence(), 6u);
  EXPECT_TRUE(ReadAll(6).empty());
  EXPECT_EQ(FirstAtOrAfter(kStartMs), 6u);

  ASSERT_TRUE(store_->maintenance().CompactAll().ok());
  Reopen();
  EXPECT_EQ(store_->audit_log().HeadSequence(), 5u);
  EXPECT_EQ(store_->audit_log().OldestSequence(), 6u);
  EXPECT_EQ(store_->audit_log().Read(5, 1).status().code(),
            absl::StatusCode::kOutOfRange);

  EXPECT_EQ(Commit({Event("after", kStartMs + 3'600'000)}),
            (std::vector<uint64_t>{6}));
  const std::vector<AuditEvent> events = ReadAll(6);
  ASSERT_EQ(Sequences(events), (std::vector<uint64_t>{6}));
  EXPECT_EQ(events[0].policy, "after");
  Reopen();
  EXPECT_EQ(store_->audit_log().HeadSequence(), 6u);
  EXPECT_EQ(store_->audit_log().OldestSequence(), 6u);
}

// Commits do not store the head: each retention that empties the log must,
// or reopening would fall back to the head an earlier one stored.
TEST_F(RocksDbAuditLogTest, HeadSurvivesEachRetentionThatEmptiesTheLog) {
  CommitMany(5, [](int i) { return kStartMs + i; });
  clock_.Advance(absl::Hours(1));
  AuditRetention retention;
  retention.max_age = absl::Minutes(1);
  EXPECT_EQ(Retain(retention), 5u);
  CommitMany(3, [](int i) { return kStartMs + 3'600'000 + i; });
  EXPECT_EQ(store_->audit_log().HeadSequence(), 8u);
  clock_.Advance(absl::Hours(1));
  EXPECT_EQ(Retain(retention), 3u);
  Reopen();
  EXPECT_EQ(store_->audit_log().HeadSequence(), 8u);
  EXPECT_EQ(store_->audit_log().OldestSequence(), 9u);
  EXPECT_EQ(Commit({Event("after", kStartMs + 7'200'000)}),
            (std::vector<uint64_t>{9}));
}

TEST_F(RocksDbAuditLogTest, AwaitAfterWakesWhenAnotherThreadCommits) {
  Commit({Event("a", kStartMs)});
  EXPECT_TRUE(store_->audit_log().AwaitAfter(0, absl::ZeroDuration()));
  const absl::Duration timeout = absl::Seconds(60);
  std::thread writer([this] { Commit({Event("b", kStartMs + 1)}); });
  // Measured on the real clock only to tell a wake-up from a timeout.
  const absl::Time start = absl::Now();
  const bool woke = store_->audit_log().AwaitAfter(1, timeout);
  const absl::Duration waited = absl::Now() - start;
  writer.join();
  EXPECT_TRUE(woke);
  EXPECT_LT(waited, timeout);
  EXPECT_EQ(store_->audit_log().HeadSequence(), 2u);
}

TEST_F(RocksDbAuditLogTest, AwaitAfterTimesOutFalseWhenNothingComes) {
  Commit({Event("a", kStartMs)});
  EXPECT_FALSE(store_->audit_log().AwaitAfter(1, absl::Milliseconds(20)));
  EXPECT_FALSE(store_->audit_log().AwaitAfter(1, absl::ZeroDuration()));
  // Counter-only commits do not move the log.
  Commit({}, {{"c-one", State(1)}});
  EXPECT_FALSE(store_->audit_log().AwaitAfter(1, absl::ZeroDuration()));
  EXPECT_TRUE(store_->audit_log().AwaitAfter(0, absl::Milliseconds(20)));
}

TEST_F(RocksDbAuditLogTest, RefusalFloodIsFoldedBeforeAnyDecisionIsEvicted) {
  std::mt19937_64 rng(7);
  // 100 decisions, then a flood of 4,000 refusal events (3 calls each),
  // ten times the decisions' size, against a budget of twice the decisions.
  uint64_t decision_bytes = 0;
  for (int i = 0; i < 100; ++i) {
    AuditEvent e = Event("login_ip", kStartMs + i);
    e.context = {{"noise", RandomLetters(rng, 200)}};
    decision_bytes += EncodeAuditEvent(e).size();
    Commit({std::move(e)});
  }
  for (int i = 0; i < 4000; ++i) {
    Commit({Refusal(rng, kStartMs + 1000 + i, 3)});
  }
  AuditRetention retention;
  retention.max_bytes = 2 * decision_bytes;
  EXPECT_GE(Retain(retention), 3000u);

  // Nothing was evicted: every decision is still read from sequence 1 ...
  EXPECT_EQ(store_->audit_log().OldestSequence(), 1u);
  EXPECT_EQ(store_->audit_log().HeadSequence(), 4100u);
  std::vector<AuditEvent> events = ReadAll(1);
  ASSERT_GE(events.size(), 101u);
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(events[i].sequence, static_cast<uint64_t>(i + 1));
    EXPECT_TRUE(events[i].refusal.empty());
  }
  ExpectContiguousCoverage(events, 1);
  // ... and every refused call is still counted, the oldest folded first.
  uint64_t calls = 0;
  for (const AuditEvent& e : events) calls += e.refused_calls;
  EXPECT_EQ(calls, 12000u);
  EXPECT_EQ(events[100].first_sequence, 101u);
  EXPECT_EQ(events[100].first_refused_ms, kStartMs + 1000 - 5);
  EXPECT_EQ(events.back().sequence, 4100u);
  // The log fits its budget again.
  absl::StatusOr<std::vector<AuditEvent>> middle =
      store_->audit_log().Read(150, 1);
  ASSERT_TRUE(middle.ok()) << middle.status();
  ASSERT_EQ(middle->size(), 1u);
  EXPECT_EQ((*middle)[0].first_sequence, 101u) << "150 is in the summary";
  ASSERT_TRUE(store_->maintenance().CompactAll().ok());
  EXPECT_LE(store_->maintenance().ApproximateAuditBytes(), retention.max_bytes);

  // Bounds and summaries survive reopening.
  Reopen();
  EXPECT_EQ(store_->audit_log().OldestSequence(), 1u);
  EXPECT_EQ(store_->audit_log().HeadSequence(), 4100u);
  EXPECT_EQ(ReadAll(1).size(), events.size());
}

TEST_F(RocksDbAuditLogTest, RefusalRunsBetweenDecisionsFoldOneSummaryEach) {
  std::mt19937_64 rng(8);
  uint64_t decision_bytes = 0;
  for (int round = 0; round < 5; ++round) {
    AuditEvent e = Event("login_ip", kStartMs + round * 1000);
    decision_bytes += EncodeAuditEvent(e).size();
    Commit({std::move(e)});
    for (int i = 0; i < 200; ++i) {
      Commit({Refusal(rng, kStartMs + round * 1000 + 1 + i, 1)});
    }
  }
  AuditRetention retention;
  retention.max_bytes = 4 * decision_bytes + 1024;
  Retain(retention);
  EXPECT_EQ(store_->audit_log().OldestSequence(), 1u);
  std::vector<AuditEvent> events = ReadAll(1);
  ExpectContiguousCoverage(events, 1);
  // Five decisions, each followed by one summary of its 200 refusals.
  ASSERT_EQ(events.size(), 10u);
  for (int round = 0; round < 5; ++round) {
    EXPECT_TRUE(events[2 * round].refusal.empty());
    EXPECT_EQ(events[2 * round].sequence, 1u + 201u * round);
    EXPECT_EQ(events[2 * round + 1].refused_calls, 200u);
  }
}

TEST_F(RocksDbAuditLogTest, LaterRefusalsExtendTheLastSummary) {
  std::mt19937_64 rng(9);
  Commit({Event("login_ip", kStartMs)});
  AuditRetention retention;
  retention.max_bytes = 4096;
  for (int batch = 0; batch < 3; ++batch) {
    for (int i = 0; i < 500; ++i) {
      Commit({Refusal(rng, kStartMs + batch * 1000 + i + 1, 2)});
    }
    Retain(retention);
  }
  std::vector<AuditEvent> events = ReadAll(1);
  ASSERT_EQ(events.size(), 2u) << "one summary, not one per run";
  EXPECT_EQ(events[0].sequence, 1u);
  EXPECT_EQ(events[1].first_sequence, 2u);
  EXPECT_EQ(events[1].sequence, 1501u);
  EXPECT_EQ(events[1].refused_calls, 3000u);
}

TEST_F(RocksDbAuditLogTest, DecisionsAloneOverBudgetAreStillEvictedOldest) {
  std::mt19937_64 rng(10);
  uint64_t encoded = 0;
  for (int i = 0; i < 500; ++i) {
    AuditEvent e = Event("bulk", kStartMs + i);
    e.context = {{"noise", RandomLetters(rng, 200)}};
    encoded += EncodeAuditEvent(e).size();
    Commit({std::move(e)});
    if (i % 50 == 0) Commit({Refusal(rng, kStartMs + i, 1)});
  }
  AuditRetention retention;
  retention.max_bytes = encoded / 2;
  EXPECT_GT(Retain(retention), 0u);
  const uint64_t oldest = store_->audit_log().OldestSequence();
  EXPECT_GT(oldest, 100u);
  std::vector<AuditEvent> events = ReadAll(oldest);
  ExpectContiguousCoverage(events, oldest);
  EXPECT_EQ(events.back().sequence, store_->audit_log().HeadSequence());
}

TEST_F(RocksDbAuditLogTest, EvictionCountsBytesNotTheSequencesASummaryCovers) {
  std::mt19937_64 rng(11);
  uint64_t decision_bytes = 0;
  auto decide = [&](int64_t time_ms) {
    AuditEvent e = Event("login_ip", time_ms);
    e.context = {{"noise", RandomLetters(rng, 200)}};
    decision_bytes += EncodeAuditEvent(e).size();
    Commit({std::move(e)});
  };
  // 200 decisions, 5,000 refusals (folded into one summary), 200 decisions.
  for (int i = 0; i < 200; ++i) decide(kStartMs + i);
  for (int i = 0; i < 5000; ++i) Commit({Refusal(rng, kStartMs + 1000 + i, 1)});
  for (int i = 0; i < 200; ++i) decide(kStartMs + 10000 + i);
  // A first run folds the refusals (the decisions fit).
  AuditRetention retention;
  retention.max_bytes = decision_bytes;
  Retain(retention);
  ASSERT_EQ(store_->audit_log().OldestSequence(), 1u);
  ASSERT_EQ(ReadAll(1).size(), 401u);
  // Then room on disk for about three quarters of what is left.
  ASSERT_TRUE(store_->maintenance().CompactAll().ok());
  retention.max_bytes = store_->maintenance().ApproximateAuditBytes() * 3 / 4;
  Retain(retention);
  std::vector<AuditEvent> events =
      ReadAll(store_->audit_log().OldestSequence());
  ExpectContiguousCoverage(events, store_->audit_log().OldestSequence());
  uint64_t decisions = 0;
  for (const AuditEvent& e : events) decisions += e.refusal.empty() ? 1 : 0;
  // Only the oldest decisions beyond the budget went (about 90% of it is
  // kept), not every decision older than the summary's range.
  EXPECT_GE(decisions, 250u);
  EXPECT_LE(decisions, 300u);
}

}  // namespace
}  // namespace gatehouse
