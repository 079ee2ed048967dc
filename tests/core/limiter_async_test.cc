// Limiter::RunAsync over a store whose commits wait until the test lets
// them through: an answer leaves only once its commit settled, a request
// on a key being committed waits for that commit, and a failed commit
// fails its request and leaves the next to read what was stored.

#include <deque>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "tests/core/limiter_test_util.h"

namespace gatehouse {
namespace core_test {
namespace {

// Holds each asynchronous commit until Settle(); then commits it to the
// in-memory store (or fails it) and runs its `done`.
class HeldCommitStore final : public CounterStore {
 public:
  explicit HeldCommitStore(CounterStore* inner) : inner_(inner) {}

  absl::StatusOr<std::optional<CounterState>> Read(
      absl::string_view key) override {
    return inner_->Read(key);
  }
  absl::Status Commit(WriteSet& writes) override {
    return inner_->Commit(writes);
  }
  void CommitAsync(WriteSet& writes, CommitDone done) override {
    held_.push_back({&writes, std::move(done)});
  }
  absl::StatusOr<LockoutPage> ListLockouts(const LockoutQuery& query) override {
    return inner_->ListLockouts(query);
  }

  size_t held() const { return held_.size(); }
  // Settles the oldest held commit: written, or failed with `failure`.
  void Settle(absl::Status failure = absl::OkStatus()) {
    ASSERT_FALSE(held_.empty());
    Held h = std::move(held_.front());
    held_.pop_front();
    const absl::Status status =
        failure.ok() ? inner_->Commit(*h.writes) : failure;
    std::move(h.done)(status);
  }

 private:
  struct Held {
    WriteSet* writes;
    CommitDone done;
  };
  CounterStore* const inner_;
  std::deque<Held> held_;
};

class LimiterAsyncTest : public ::testing::Test {
 protected:
  LimiterAsyncTest()
      : limiter_(&clock_, &store_,
                 std::make_shared<const PolicySet>(std::vector<Policy>{
                     MakePolicy("login", {"user"}, 5, absl::Minutes(1))})) {}

  // Starts `op` on alice; the answer lands in *out.
  void Start(Operation op, std::optional<absl::StatusOr<Response>>* out) {
    limiter_.RunAsync(op, request_, [out](absl::StatusOr<Response> r) {
      *out = std::move(r);
    });
  }

  SimulatedClock clock_{AlignedStart()};
  InMemoryCounterStore memory_;
  HeldCommitStore store_{&memory_};
  Limiter limiter_;
  const Request request_ = MakeRequest({Subject("login", {{"user", "alice"}})});
};

TEST_F(LimiterAsyncTest, AnswersOnlyOnceItsCommitIsWritten) {
  std::optional<absl::StatusOr<Response>> answer;
  Start(Operation::kRecord, &answer);
  EXPECT_FALSE(answer.has_value());
  ASSERT_EQ(store_.held(), 1u);

  store_.Settle();
  ASSERT_TRUE(answer.has_value());
  ASSERT_TRUE(answer->ok()) << answer->status();
  EXPECT_EQ((*answer)->verdicts[0].count, 1u);
  EXPECT_GT((*answer)->verdicts[0].audit_sequence, 0u);
}

TEST_F(LimiterAsyncTest, RequestOnAKeyBeingCommittedWaitsForThatCommit) {
  std::optional<absl::StatusOr<Response>> first, second;
  Start(Operation::kRecord, &first);
  Start(Operation::kRecord, &second);
  // The second is not decided while the first's commit is held: deciding
  // it now would count on a state that may never be written.
  EXPECT_EQ(store_.held(), 1u);

  store_.Settle();
  ASSERT_TRUE(first.has_value());
  EXPECT_FALSE(second.has_value());
  EXPECT_EQ(store_.held(), 1u) << "the second decided once the first settled";

  store_.Settle();
  ASSERT_TRUE(second.has_value());
  ASSERT_TRUE(second->ok()) << second->status();
  EXPECT_EQ((*second)->verdicts[0].count, 2u);
}

TEST_F(LimiterAsyncTest, FailedCommitFailsItsRequestAndTheNextReadsTheStore) {
  std::optional<absl::StatusOr<Response>> first, second;
  Start(Operation::kRecord, &first);
  Start(Operation::kRecord, &second);

  store_.Settle(absl::UnavailableError("disk full"));
  ASSERT_TRUE(first.has_value());
  EXPECT_TRUE(absl::IsUnavailable(first->status())) << first->status();

  store_.Settle();
  ASSERT_TRUE(second.has_value());
  ASSERT_TRUE(second->ok()) << second->status();
  EXPECT_EQ((*second)->verdicts[0].count, 1u)
      << "the failed Record was not counted";
}

TEST_F(LimiterAsyncTest, PeekAnswersAtOnceFromWhatIsCommitted) {
  std::optional<absl::StatusOr<Response>> record, peek;
  Start(Operation::kRecord, &record);
  Start(Operation::kPeek, &peek);
  ASSERT_TRUE(peek.has_value()) << "a Peek takes no stripe";
  ASSERT_TRUE(peek->ok()) << peek->status();
  EXPECT_EQ((*peek)->verdicts[0].count, 0u);
  store_.Settle();
  EXPECT_TRUE(record.has_value());
}

}  // namespace
}  // namespace core_test
}  // namespace gatehouse
