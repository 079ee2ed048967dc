#ifndef GATEHOUSE_TESTS_TESTING_COUNTER_STORE_CONTRACT_H_
#define GATEHOUSE_TESTS_TESTING_COUNTER_STORE_CONTRACT_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "service/core/audit_log.h"
#include "service/core/counter_state.h"
#include "service/core/counter_store.h"
#include "tests/testing/store_contract_env.h"

// The CounterStore contract (service/core/counter_store.h), as a typed suite
// every implementation instantiates with its Env (store_contract_env.h):
//
//   INSTANTIATE_TYPED_TEST_SUITE_P(InMemory, CounterStoreContractTest,
//                                  InMemoryEnv);
//
// "A failed Commit applies nothing and uses no sequence number" needs the
// implementation's own storage to fail (Env::BreakStorage); an in-memory
// Commit cannot fail, so that test is skipped for it.
namespace gatehouse::testing {

template <typename Env>
class CounterStoreContractTest : public ::testing::Test {
 protected:
  CounterStore& store() { return env_.store(); }
  AuditLog& log() { return env_.log(); }

  // The state under `key`; nullopt when absent or on a failed read (which
  // records a test failure).
  std::optional<CounterState> ReadState(const std::string& key) {
    absl::StatusOr<std::optional<CounterState>> state = store().Read(key);
    EXPECT_TRUE(state.ok()) << key << ": " << state.status();
    return state.ok() ? *state : std::nullopt;
  }

  void Commit(WriteSet& writes) {
    const absl::Status status = store().Commit(writes);
    ASSERT_TRUE(status.ok()) << status;
  }

  Env env_;
};

TYPED_TEST_SUITE_P(CounterStoreContractTest);

TYPED_TEST_P(CounterStoreContractTest, UnknownKeyReadsAsAbsent) {
  EXPECT_EQ(this->ReadState("never-written"), std::nullopt);
}

TYPED_TEST_P(CounterStoreContractTest, ReadsBackEveryFieldOfACommittedState) {
  WriteSet writes;
  writes.puts.emplace_back("k1", ContractState(1));
  ASSERT_NO_FATAL_FAILURE(this->Commit(writes));
  EXPECT_EQ(this->ReadState("k1"), ContractState(1));
  EXPECT_EQ(this->ReadState("k2"), std::nullopt);
}

TYPED_TEST_P(CounterStoreContractTest, PutReplacesTheWholeState) {
  WriteSet first;
  first.puts.emplace_back("k", ContractState(1));
  ASSERT_NO_FATAL_FAILURE(this->Commit(first));
  CounterState smaller;
  smaller.bucket_ms = 60'000;
  smaller.buckets = {{kContractStartMs / 60'000, 9}};
  smaller.expires_at_ms = ContractState(0).expires_at_ms;
  WriteSet second;
  second.puts.emplace_back("k", smaller);
  ASSERT_NO_FATAL_FAILURE(this->Commit(second));
  EXPECT_EQ(this->ReadState("k"), smaller);
}

TYPED_TEST_P(CounterStoreContractTest,
             DeleteRemovesAStateAndAbsentKeysAreFine) {
  WriteSet put;
  put.puts.emplace_back("gone", ContractState(1));
  put.puts.emplace_back("kept", ContractState(2));
  ASSERT_NO_FATAL_FAILURE(this->Commit(put));
  WriteSet del;
  del.deletes = {"gone", "never-written"};
  ASSERT_NO_FATAL_FAILURE(this->Commit(del));
  EXPECT_EQ(this->ReadState("gone"), std::nullopt);
  EXPECT_EQ(this->ReadState("never-written"), std::nullopt);
  EXPECT_EQ(this->ReadState("kept"), ContractState(2));
}

TYPED_TEST_P(CounterStoreContractTest, MultiKeyCommitAppliesEveryChange) {
  WriteSet setup;
  setup.puts.emplace_back("a", ContractState(1));
  setup.puts.emplace_back("b", ContractState(2));
  ASSERT_NO_FATAL_FAILURE(this->Commit(setup));
  WriteSet writes;
  writes.puts.emplace_back("a", ContractState(10));
  writes.puts.emplace_back("c", ContractState(11));
  writes.deletes = {"b"};
  writes.audit.push_back(ContractEvent("multi-0", EventTimeMs(1)));
  writes.audit.push_back(ContractEvent("multi-1", EventTimeMs(2)));
  ASSERT_NO_FATAL_FAILURE(this->Commit(writes));
  EXPECT_EQ(this->ReadState("a"), ContractState(10));
  EXPECT_EQ(this->ReadState("b"), std::nullopt);
  EXPECT_EQ(this->ReadState("c"), ContractState(11));
  EXPECT_EQ(this->log().HeadSequence(), 2u);
}

// Two keys always written together with the same count, "a" before "b" in
// the WriteSet; a reader reading "a" then "b" can see "b" newer than "a"
// (a commit landed between its reads) but never older, which it would if a
// commit's puts became visible one at a time.
TYPED_TEST_P(CounterStoreContractTest, ReadersNeverSeeHalfACommit) {
  auto count_of = [](const std::optional<CounterState>& s) -> uint64_t {
    return s.has_value() && !s->buckets.empty() ? s->buckets[0].count : 0;
  };
  constexpr uint64_t kCommits = 1500;
  std::atomic<bool> done{false};
  std::atomic<int> torn{0}, observed{0};
  std::thread reader([&] {
    do {
      absl::StatusOr<std::optional<CounterState>> a = this->store().Read("a");
      absl::StatusOr<std::optional<CounterState>> b = this->store().Read("b");
      if (!a.ok() || !b.ok()) continue;
      ++observed;
      if (count_of(*b) < count_of(*a)) ++torn;
    } while (!done.load());
  });
  // Commits start once the reader is reading, and yield between commits.
  while (observed.load() == 0) std::this_thread::yield();
  for (uint64_t i = 1; i <= kCommits; ++i) {
    std::this_thread::yield();
    CounterState state = ContractState(0);
    state.buckets = {{kContractStartMs / 1000, i}};
    WriteSet writes;
    writes.puts.emplace_back("a", state);
    writes.puts.emplace_back("b", state);
    if (i % 3 == 0) writes.audit.push_back(ContractEvent("pair", 0));
    const absl::Status status = this->store().Commit(writes);
    if (!status.ok()) {
      ADD_FAILURE() << status;
      break;
    }
  }
  done = true;
  reader.join();
  EXPECT_EQ(torn.load(), 0) << "of " << observed.load() << " read pairs";
  EXPECT_EQ(count_of(this->ReadState("a")), kCommits);
  EXPECT_EQ(count_of(this->ReadState("b")), kCommits);
  EXPECT_EQ(this->log().HeadSequence(), kCommits / 3);
}

TYPED_TEST_P(CounterStoreContractTest,
             CommitNumbersItsEventsConsecutivelyAfterTheHead) {
  EXPECT_EQ(this->log().HeadSequence(), 0u);
  const std::vector<AuditEvent> first =
      CommitEvents(this->store(), "first", 3, EventTimeMs(1));
  ASSERT_EQ(first.size(), 3u);
  EXPECT_EQ(first[0].sequence, 1u);
  EXPECT_EQ(first[1].sequence, 2u);
  EXPECT_EQ(first[2].sequence, 3u);
  const std::vector<AuditEvent> second =
      CommitEvents(this->store(), "second", 2, EventTimeMs(4));
  ASSERT_EQ(second.size(), 2u);
  EXPECT_EQ(second[0].sequence, 4u);
  EXPECT_EQ(second[1].sequence, 5u);
  EXPECT_EQ(this->log().HeadSequence(), 5u);

  // Stored as committed, in commit order.
  absl::StatusOr<std::vector<AuditEvent>> stored = this->log().Read(1, 100);
  ASSERT_TRUE(stored.ok()) << stored.status();
  ASSERT_EQ(stored->size(), 5u);
  for (size_t i = 0; i < 3; ++i) ExpectSameEvent((*stored)[i], first[i]);
  for (size_t i = 0; i < 2; ++i) ExpectSameEvent((*stored)[3 + i], second[i]);
}

TYPED_TEST_P(CounterStoreContractTest, CommitWithoutEventsUsesNoSequence) {
  CommitEvents(this->store(), "before", 2, EventTimeMs(1));
  WriteSet counters_only;
  counters_only.puts.emplace_back("k", ContractState(1));
  ASSERT_NO_FATAL_FAILURE(this->Commit(counters_only));
  EXPECT_EQ(this->log().HeadSequence(), 2u);
  const std::vector<AuditEvent> after =
      CommitEvents(this->store(), "after", 1, EventTimeMs(3));
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0].sequence, 3u);
}

// Commits from many threads at once: every sequence from 1 to the head is
// used exactly once, each commit's events are consecutive, and the log holds
// each event under the sequence its commit was given.
TYPED_TEST_P(CounterStoreContractTest,
             ConcurrentCommitsShareOneGapFreeSequence) {
  constexpr int kThreads = 6;
  constexpr int kCommitsPerThread = 60;
  constexpr size_t kEventsPerCommit = 3;
  std::vector<std::vector<AuditEvent>> committed(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int c = 0; c < kCommitsPerThread; ++c) {
        WriteSet writes;
        writes.puts.emplace_back("t" + std::to_string(t), ContractState(c));
        for (size_t e = 0; e < kEventsPerCommit; ++e) {
          writes.audit.push_back(ContractEvent("t" + std::to_string(t) + "-c" +
                                                   std::to_string(c) + "-e" +
                                                   std::to_string(e),
                                               kContractStartMs));
        }
        if (!this->store().Commit(writes).ok()) return;
        for (size_t e = 1; e < kEventsPerCommit; ++e) {
          if (writes.audit[e].sequence != writes.audit[e - 1].sequence + 1) {
            return;  // Caught below: the thread's events come up short.
          }
        }
        for (AuditEvent& event : writes.audit) {
          committed[t].push_back(std::move(event));
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();

  const uint64_t total = kThreads * kCommitsPerThread * kEventsPerCommit;
  std::map<uint64_t, const AuditEvent*> by_sequence;
  for (int t = 0; t < kThreads; ++t) {
    ASSERT_EQ(committed[t].size(), kCommitsPerThread * kEventsPerCommit)
        << "thread " << t << " failed a commit or got non-consecutive events";
    for (const AuditEvent& event : committed[t]) {
      EXPECT_TRUE(by_sequence.emplace(event.sequence, &event).second)
          << "sequence " << event.sequence << " given twice";
    }
  }
  EXPECT_EQ(this->log().HeadSequence(), total);
  ASSERT_EQ(by_sequence.size(), total);
  EXPECT_EQ(by_sequence.begin()->first, 1u);
  EXPECT_EQ(by_sequence.rbegin()->first, total);

  absl::StatusOr<std::vector<AuditEvent>> stored = this->log().Read(1, total);
  ASSERT_TRUE(stored.ok()) << stored.status();
  ASSERT_EQ(stored->size(), total);
  for (const AuditEvent& event : *stored) {
    ASSERT_EQ(by_sequence.count(event.sequence), 1u);
    EXPECT_EQ(event.client_id, by_sequence[event.sequence]->client_id)
        << "at sequence " << event.sequence;
  }
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(this->ReadState("t" + std::to_string(t)),
              ContractState(kCommitsPerThread - 1));
  }
}

// Stores that keep what they hold across a reopen (Env::Reopen()).
template <typename Env>
class DurableCounterStoreContractTest : public CounterStoreContractTest<Env> {};
TYPED_TEST_SUITE_P(DurableCounterStoreContractTest);

TYPED_TEST_P(DurableCounterStoreContractTest,
             StatesAndSequencesSurviveReopening) {
  {
    WriteSet writes;
    writes.puts.emplace_back("k", ContractState(4));
    writes.audit.push_back(ContractEvent("before", EventTimeMs(1)));
    writes.audit.push_back(ContractEvent("before", EventTimeMs(2)));
    ASSERT_NO_FATAL_FAILURE(this->Commit(writes));
    ASSERT_NO_FATAL_FAILURE(this->env_.Reopen());
    EXPECT_EQ(this->ReadState("k"), ContractState(4));
    EXPECT_EQ(this->log().HeadSequence(), 2u);
    const std::vector<AuditEvent> after =
        CommitEvents(this->store(), "after", 1, EventTimeMs(3));
    ASSERT_EQ(after.size(), 1u);
    EXPECT_EQ(after[0].sequence, 3u);
    absl::StatusOr<std::vector<AuditEvent>> stored = this->log().Read(1, 10);
    ASSERT_TRUE(stored.ok()) << stored.status();
    ASSERT_EQ(stored->size(), 3u);
    ExpectSameEvent((*stored)[0], writes.audit[0]);
    ExpectSameEvent((*stored)[1], writes.audit[1]);
    ExpectSameEvent((*stored)[2], after[0]);
  }
}

// Storage failing under a multi-key commit with events: UNAVAILABLE, no
// counter change and no event, neither at once nor once storage works
// again, and the next commit takes the very next sequence.
template <typename Env>
class FailingCounterStoreContractTest : public CounterStoreContractTest<Env> {};
TYPED_TEST_SUITE_P(FailingCounterStoreContractTest);

TYPED_TEST_P(FailingCounterStoreContractTest, FailedCommitLeavesNothing) {
  {
    WriteSet before;
    before.puts.emplace_back("kept", ContractState(1));
    before.puts.emplace_back("deleted", ContractState(2));
    before.audit.push_back(ContractEvent("before", EventTimeMs(1)));
    ASSERT_NO_FATAL_FAILURE(this->Commit(before));

    ASSERT_NO_FATAL_FAILURE(this->env_.BreakStorage());
    WriteSet failed;
    failed.puts.emplace_back("kept", ContractState(10));
    failed.puts.emplace_back("new", ContractState(11));
    failed.deletes = {"deleted"};
    failed.audit.push_back(ContractEvent("failed-0", EventTimeMs(2)));
    failed.audit.push_back(ContractEvent("failed-1", EventTimeMs(2)));
    const absl::Status status = this->store().Commit(failed);
    EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
    auto expect_unchanged = [this] {
      EXPECT_EQ(this->ReadState("kept"), ContractState(1));
      EXPECT_EQ(this->ReadState("deleted"), ContractState(2));
      EXPECT_EQ(this->ReadState("new"), std::nullopt);
      EXPECT_EQ(this->log().HeadSequence(), 1u);
      absl::StatusOr<std::vector<AuditEvent>> events = this->log().Read(1, 10);
      ASSERT_TRUE(events.ok()) << events.status();
      ASSERT_EQ(events->size(), 1u);
      EXPECT_EQ((*events)[0].client_id, "before");
    };
    {
      SCOPED_TRACE("while storage fails");
      expect_unchanged();
    }
    ASSERT_NO_FATAL_FAILURE(this->env_.RepairStorage());
    {
      SCOPED_TRACE("once storage works again");
      expect_unchanged();
    }
    const std::vector<AuditEvent> after =
        CommitEvents(this->store(), "after", 1, EventTimeMs(3));
    ASSERT_EQ(after.size(), 1u);
    EXPECT_EQ(after[0].sequence, 2u);
  }
}

REGISTER_TYPED_TEST_SUITE_P(CounterStoreContractTest, UnknownKeyReadsAsAbsent,
                            ReadsBackEveryFieldOfACommittedState,
                            PutReplacesTheWholeState,
                            DeleteRemovesAStateAndAbsentKeysAreFine,
                            MultiKeyCommitAppliesEveryChange,
                            ReadersNeverSeeHalfACommit,
                            CommitNumbersItsEventsConsecutivelyAfterTheHead,
                            CommitWithoutEventsUsesNoSequence,
                            ConcurrentCommitsShareOneGapFreeSequence);
REGISTER_TYPED_TEST_SUITE_P(DurableCounterStoreContractTest,
                            StatesAndSequencesSurviveReopening);
// Instantiated only for stores that are durable or can fail.
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(DurableCounterStoreContractTest);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(FailingCounterStoreContractTest);
REGISTER_TYPED_TEST_SUITE_P(FailingCounterStoreContractTest,
                            FailedCommitLeavesNothing);

}  // namespace gatehouse::testing

#endif  // GATEHOUSE_TESTS_TESTING_COUNTER_STORE_CONTRACT_H_
