#ifndef GATEHOUSE_TESTS_TESTING_AUDIT_LOG_CONTRACT_H_
#define GATEHOUSE_TESTS_TESTING_AUDIT_LOG_CONTRACT_H_

#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "service/core/audit_log.h"
#include "service/core/counter_store.h"
#include "tests/testing/store_contract_env.h"

// The AuditLog contract (service/core/audit_log.h), as a typed suite every
// implementation instantiates with its Env (store_contract_env.h). Events
// are appended through the same Env's CounterStore::Commit, as the contract
// says they are.
namespace gatehouse::testing {

template <typename Env>
class AuditLogContractTest : public ::testing::Test {
 protected:
  CounterStore& store() { return env_.store(); }
  AuditLog& log() { return env_.log(); }

  // Commits events 1..n, one per commit, event i at EventTimeMs(i).
  void AppendEvents(uint64_t n) {
    for (uint64_t i = log().HeadSequence() + 1, end = i + n; i < end; ++i) {
      const std::vector<AuditEvent> events =
          CommitEvents(store(), "e" + std::to_string(i), 1, EventTimeMs(i));
      ASSERT_EQ(events.size(), 1u);
      ASSERT_EQ(events[0].sequence, i);
    }
  }

  // The sequences Read(from, max) returns; records a failure on an error.
  std::vector<uint64_t> Sequences(uint64_t from, size_t max) {
    absl::StatusOr<std::vector<AuditEvent>> events = log().Read(from, max);
    EXPECT_TRUE(events.ok()) << events.status();
    std::vector<uint64_t> out;
    if (events.ok()) {
      for (const AuditEvent& e : *events) out.push_back(e.sequence);
    }
    return out;
  }

  uint64_t FirstAtOrAfterMs(int64_t ms) {
    absl::StatusOr<uint64_t> first =
        log().FirstAtOrAfter(absl::FromUnixMillis(ms));
    EXPECT_TRUE(first.ok()) << first.status();
    return first.ok() ? *first : 0;
  }

  Env env_;
};

TYPED_TEST_SUITE_P(AuditLogContractTest);

TYPED_TEST_P(AuditLogContractTest, EmptyLogHasHeadZeroAndNothingToRead) {
  EXPECT_EQ(this->log().HeadSequence(), 0u);
  EXPECT_EQ(this->log().OldestSequence(), 1u);
  EXPECT_TRUE(this->Sequences(1, 10).empty());
  EXPECT_EQ(this->FirstAtOrAfterMs(0), 1u);
}

TYPED_TEST_P(AuditLogContractTest, ReadIsAscendingContiguousAndBoundedByMax) {
  ASSERT_NO_FATAL_FAILURE(this->AppendEvents(7));
  EXPECT_EQ(this->log().HeadSequence(), 7u);
  EXPECT_EQ(this->log().OldestSequence(), 1u);
  EXPECT_EQ(this->Sequences(1, 100),
            (std::vector<uint64_t>{1, 2, 3, 4, 5, 6, 7}));
  EXPECT_EQ(this->Sequences(3, 2), (std::vector<uint64_t>{3, 4}));
  EXPECT_EQ(this->Sequences(6, 100), (std::vector<uint64_t>{6, 7}));
  EXPECT_EQ(this->Sequences(7, 1), (std::vector<uint64_t>{7}));
  EXPECT_TRUE(this->Sequences(8, 100).empty());
  EXPECT_TRUE(this->Sequences(1, 0).empty());
}

TYPED_TEST_P(AuditLogContractTest,
             ReadBeforeRetentionIsOutOfRangeNamingOldest) {
  ASSERT_NO_FATAL_FAILURE(this->AppendEvents(6));
  ASSERT_NO_FATAL_FAILURE(this->env_.DropAuditBefore(4));
  EXPECT_EQ(this->log().OldestSequence(), 4u);
  EXPECT_EQ(this->log().HeadSequence(), 6u);
  absl::StatusOr<std::vector<AuditEvent>> old = this->log().Read(2, 10);
  ASSERT_FALSE(old.ok());
  EXPECT_EQ(old.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_TRUE(absl::StrContains(old.status().message(), "4")) << old.status();
  EXPECT_EQ(this->Sequences(4, 10), (std::vector<uint64_t>{4, 5, 6}));
  EXPECT_EQ(this->FirstAtOrAfterMs(EventTimeMs(1)), 4u);
}

// Retention may delete every event; the head stays, and the next commit
// continues after it.
TYPED_TEST_P(AuditLogContractTest, SequencesContinueAfterRetentionEmptiesLog) {
  ASSERT_NO_FATAL_FAILURE(this->AppendEvents(3));
  ASSERT_NO_FATAL_FAILURE(this->env_.DropAuditBefore(4));
  EXPECT_EQ(this->log().HeadSequence(), 3u);
  EXPECT_EQ(this->log().OldestSequence(), 4u);
  EXPECT_TRUE(this->Sequences(4, 10).empty());
  EXPECT_EQ(this->FirstAtOrAfterMs(0), 4u);
  if constexpr (TypeParam::kDurable) {
    ASSERT_NO_FATAL_FAILURE(this->env_.Reopen());
    EXPECT_EQ(this->log().HeadSequence(), 3u);
    EXPECT_EQ(this->log().OldestSequence(), 4u);
  }
  ASSERT_NO_FATAL_FAILURE(this->AppendEvents(1));
  EXPECT_EQ(this->Sequences(4, 10), (std::vector<uint64_t>{4}));
}

TYPED_TEST_P(AuditLogContractTest, FirstAtOrAfterFindsTheFirstEventAtATime) {
  // Two events at each of three times: sequences 1,2 / 3,4 / 5,6.
  for (int64_t t = 1; t <= 3; ++t) {
    CommitEvents(this->store(), "t" + std::to_string(t), 2, EventTimeMs(t));
  }
  ASSERT_EQ(this->log().HeadSequence(), 6u);
  EXPECT_EQ(this->FirstAtOrAfterMs(EventTimeMs(0)), 1u);
  EXPECT_EQ(this->FirstAtOrAfterMs(EventTimeMs(1)), 1u);
  EXPECT_EQ(this->FirstAtOrAfterMs(EventTimeMs(1) + 1), 3u);
  EXPECT_EQ(this->FirstAtOrAfterMs(EventTimeMs(2)), 3u);
  EXPECT_EQ(this->FirstAtOrAfterMs(EventTimeMs(3)), 5u);
  EXPECT_EQ(this->FirstAtOrAfterMs(EventTimeMs(3) + 1), 7u);
}

TYPED_TEST_P(AuditLogContractTest, AwaitAfterAnswersFromTheHead) {
  ASSERT_NO_FATAL_FAILURE(this->AppendEvents(2));
  EXPECT_TRUE(this->log().AwaitAfter(1, absl::ZeroDuration()));
  EXPECT_FALSE(this->log().AwaitAfter(2, absl::Milliseconds(1)));
}

// A waiter is woken by a commit from another thread (the long timeout is
// never reached unless the wake-up is lost).
TYPED_TEST_P(AuditLogContractTest, AwaitAfterWakesOnACommit) {
  ASSERT_NO_FATAL_FAILURE(this->AppendEvents(1));
  std::thread committer(
      [&] { CommitEvents(this->store(), "late", 1, EventTimeMs(2)); });
  EXPECT_TRUE(this->log().AwaitAfter(1, absl::Seconds(60)));
  committer.join();
  EXPECT_EQ(this->log().HeadSequence(), 2u);
}

REGISTER_TYPED_TEST_SUITE_P(AuditLogContractTest,
                            EmptyLogHasHeadZeroAndNothingToRead,
                            ReadIsAscendingContiguousAndBoundedByMax,
                            ReadBeforeRetentionIsOutOfRangeNamingOldest,
                            SequencesContinueAfterRetentionEmptiesLog,
                            FirstAtOrAfterFindsTheFirstEventAtATime,
                            AwaitAfterAnswersFromTheHead,
                            AwaitAfterWakesOnACommit);

}  // namespace gatehouse::testing

#endif  // GATEHOUSE_TESTS_TESTING_AUDIT_LOG_CONTRACT_H_
