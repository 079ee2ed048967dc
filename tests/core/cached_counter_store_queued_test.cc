// CachedCounterStore over a store that writes commits in order
// (writes_in_order): the holder of a key's lock decides on the state the
// last commit queued for it, before that is written; readers without the
// lock see only committed states; a written commit's states are seen by
// every reader once it is answered, whatever order the commits settle in;
// and a commit decided on the state of one that failed fails too, so that
// memory never holds, and storage never gets, a state built on a failed
// commit.

#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "service/core/cached_counter_store.h"
#include "tests/testing/counter_store_contract.h"
#include "tests/testing/ordered_counter_store.h"

namespace gatehouse::testing {
namespace {

// The cache in front of the ordered store keeps the CounterStore contract
// (whose commits are synchronous: written at once, beside the queue).
class CachedOrderedEnv {
 public:
  static constexpr bool kDurable = false;
  static constexpr bool kCanFail = false;

  CounterStore& store() { return cache_; }
  AuditLog& log() { return inner_.memory(); }
  void DropAuditBefore(uint64_t sequence) {
    inner_.memory().DropAuditBefore(sequence);
  }

 private:
  OrderedCounterStore inner_;
  CachedCounterStore cache_{&inner_, CounterCacheOptions{}};
};

INSTANTIATE_TYPED_TEST_SUITE_P(CachedOrdered, CounterStoreContractTest,
                               CachedOrderedEnv);

WriteSet PutOf(const std::string& key, uint64_t n) {
  WriteSet writes;
  writes.puts.emplace_back(key, ContractState(n));
  return writes;
}

class CachedQueuedTest : public ::testing::Test {
 protected:
  // Commits `writes` in order, recording its status in *status once done.
  void Queue(WriteSet& writes, std::optional<absl::Status>* status) {
    bool queued = false;
    cache_.CommitInOrder(
        writes, [&queued] { queued = true; },
        [status](absl::Status s) { *status = std::move(s); });
    EXPECT_TRUE(queued);
  }
  // Queues `writes` (a put of one key) as the holder of its key's lock
  // does: decided on the key's latest state, after the commits it showed.
  void QueueDecided(WriteSet& writes, std::optional<absl::Status>* status) {
    CommitOutcomes after;
    Latest(writes.puts.front().first, after);
    writes.after = std::move(after);
    Queue(writes, status);
  }
  std::optional<CounterState> Latest(const std::string& key,
                                     CommitOutcomes& after) {
    absl::StatusOr<std::optional<CounterState>> state =
        cache_.ReadLatest(key, after);
    EXPECT_TRUE(state.ok()) << state.status();
    return state.ok() ? *state : std::nullopt;
  }
  std::optional<CounterState> Committed(const std::string& key) {
    absl::StatusOr<std::optional<CounterState>> state = cache_.Read(key);
    EXPECT_TRUE(state.ok()) << state.status();
    return state.ok() ? *state : std::nullopt;
  }

  OrderedCounterStore inner_;
  CachedCounterStore cache_{&inner_, CounterCacheOptions{}};
};

TEST_F(CachedQueuedTest, ShowsQueuedStatesToTheLockHolderOnly) {
  ASSERT_TRUE(cache_.shows_queued_states());
  WriteSet first = PutOf("k", 1);
  ASSERT_TRUE(inner_.memory().Commit(first).ok());
  CommitOutcomes none;
  ASSERT_EQ(Latest("k", none), ContractState(1));
  EXPECT_TRUE(none.empty());

  WriteSet second = PutOf("k", 2);
  std::optional<absl::Status> status;
  Queue(second, &status);
  CommitOutcomes after;
  EXPECT_EQ(Latest("k", after), ContractState(2));
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0], second.outcome);
  // Reading again names that commit once.
  EXPECT_EQ(Latest("k", after), ContractState(2));
  EXPECT_EQ(after.size(), 1u);
  // A reader without the lock sees what is written.
  EXPECT_EQ(Committed("k"), ContractState(1));

  inner_.WriteNext();
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(status->ok()) << *status;
  EXPECT_EQ(Committed("k"), ContractState(2));
  CommitOutcomes settled;
  EXPECT_EQ(Latest("k", settled), ContractState(2));
  EXPECT_TRUE(settled.empty());
}

TEST_F(CachedQueuedTest, QueuedStatesBecomeCommittedInQueueOrder) {
  WriteSet first = PutOf("k", 1);
  std::optional<absl::Status> first_status, second_status;
  Queue(first, &first_status);
  WriteSet second = PutOf("k", 2);
  QueueDecided(second, &second_status);
  EXPECT_EQ(second.after, CommitOutcomes({first.outcome}));
  // Both written; the later one's completion runs first. Once it is
  // answered, a reader sees its state, the earlier one's completion
  // notwithstanding.
  inner_.WriteNext(absl::OkStatus(), /*hold=*/true);
  inner_.WriteNext(absl::OkStatus(), /*hold=*/true);
  inner_.AnswerLastHeld();
  ASSERT_TRUE(second_status.has_value());
  EXPECT_TRUE(second_status->ok()) << *second_status;
  EXPECT_FALSE(first_status.has_value());
  EXPECT_EQ(Committed("k"), ContractState(2));
  CommitOutcomes none;
  EXPECT_EQ(Latest("k", none), ContractState(2));
  EXPECT_TRUE(none.empty());
  inner_.AnswerLastHeld();
  ASSERT_TRUE(first_status.has_value());
  EXPECT_TRUE(first_status->ok()) << *first_status;
  EXPECT_EQ(Committed("k"), ContractState(2));
  EXPECT_EQ(inner_.memory().Read("k").value(), ContractState(2));
  EXPECT_EQ(cache_.entries(), 1u);
}

TEST_F(CachedQueuedTest, CommitDecidedOnAFailedOneFailsAndLeavesNothing) {
  WriteSet stored = PutOf("k", 1);
  ASSERT_TRUE(inner_.memory().Commit(stored).ok());
  CommitOutcomes none;
  ASSERT_EQ(Latest("k", none), ContractState(1));

  WriteSet first = PutOf("k", 2);
  std::optional<absl::Status> first_status, second_status;
  Queue(first, &first_status);
  WriteSet second = PutOf("k", 3);
  QueueDecided(second, &second_status);
  EXPECT_EQ(second.after, CommitOutcomes({first.outcome}));

  inner_.WriteNext(absl::UnavailableError("disk full"));
  ASSERT_TRUE(first_status.has_value());
  EXPECT_EQ(first_status->code(), absl::StatusCode::kUnavailable);
  // The later commit's state still shows, to be read by the next lock
  // holder, which then depends on it in turn.
  CommitOutcomes later;
  EXPECT_EQ(Latest("k", later), ContractState(3));
  EXPECT_EQ(later.size(), 1u);
  EXPECT_EQ(Committed("k"), ContractState(1));

  inner_.WriteNext();
  ASSERT_TRUE(second_status.has_value());
  EXPECT_EQ(second_status->code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(inner_.memory().Read("k").value(), ContractState(1));
  // Memory holds nothing storage does not: the key is read again.
  EXPECT_EQ(cache_.entries(), 0u);
  CommitOutcomes fresh;
  EXPECT_EQ(Latest("k", fresh), ContractState(1));
  EXPECT_TRUE(fresh.empty());
}

TEST_F(CachedQueuedTest, CommitAfterAKnownFailureIsRefusedUnshown) {
  WriteSet first = PutOf("k", 1);
  std::optional<absl::Status> first_status, second_status;
  Queue(first, &first_status);
  WriteSet second = PutOf("k", 2);
  CommitOutcomes after;
  ASSERT_EQ(Latest("k", after), ContractState(1));
  second.after = std::move(after);
  inner_.WriteNext(absl::UnavailableError("disk full"));
  Queue(second, &second_status);
  ASSERT_TRUE(second_status.has_value());
  EXPECT_EQ(second_status->code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(cache_.dependent_failures(), 1u);
  EXPECT_EQ(inner_.queued(), 0u);
  EXPECT_EQ(cache_.entries(), 0u);
  EXPECT_EQ(inner_.memory().Read("k").value(), std::nullopt);
}

TEST_F(CachedQueuedTest, ReadOfAKeyWithOnlyQueuedStatesWaitsForThem) {
  WriteSet first = PutOf("k", 1);
  std::optional<absl::Status> status;
  Queue(first, &status);
  // Nothing committed is known for k in the table, and the inner store may
  // hold the commit before the table does: a reader without the lock waits
  // for the commit to settle.
  std::optional<CounterState> read;
  std::thread reader([&] { read = Committed("k"); });
  while (cache_.waits() == 0) absl::SleepFor(absl::Milliseconds(1));
  inner_.WriteNext();
  reader.join();
  EXPECT_EQ(read, ContractState(1));
  EXPECT_EQ(cache_.misses(), 0u);
}

TEST_F(CachedQueuedTest, KeysWithQueuedStatesAreNotEvicted) {
  CounterCacheOptions options;
  options.capacity_bytes = 64;  // Less than any entry.
  options.shards = 1;
  CachedCounterStore cache(&inner_, options);
  WriteSet first = PutOf("k", 1);
  std::optional<absl::Status> status;
  cache.CommitInOrder(
      first, [] {}, [&status](absl::Status s) { status = std::move(s); });
  CommitOutcomes after;
  absl::StatusOr<std::optional<CounterState>> latest =
      cache.ReadLatest("k", after);
  ASSERT_TRUE(latest.ok());
  EXPECT_EQ(*latest, ContractState(1));
  EXPECT_EQ(cache.entries(), 1u);
  inner_.WriteNext();
  ASSERT_TRUE(status.has_value() && status->ok());
  // Written: the entry is too large to be held.
  EXPECT_EQ(cache.entries(), 0u);
  EXPECT_EQ(cache.charged_bytes(), 0u);
}

}  // namespace
}  // namespace gatehouse::testing
