// The Limiter over a store that shows queued states (the counter cache in
// front of a store that writes in order): a request on a key whose commit
// is queued decides on that commit's state at once, without waiting for the
// write; each is answered only once its own commit is written; one decided
// on a commit that failed fails too, counting nothing; and a Peek answers
// from what is written.

#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "service/clock/simulated_clock.h"
#include "service/core/cached_counter_store.h"
#include "service/core/limiter.h"
#include "tests/core/limiter_test_util.h"
#include "tests/testing/ordered_counter_store.h"

namespace gatehouse {
namespace core_test {
namespace {

using ::gatehouse::testing::OrderedCounterStore;

class LimiterPipelinedTest : public ::testing::Test {
 protected:
  LimiterPipelinedTest()
      : limiter_(&clock_, &cache_,
                 std::make_shared<const PolicySet>(std::vector<Policy>{
                     MakePolicy("login", {"user"}, 2, absl::Minutes(1))})) {}

  // Starts `op` on alice; the answer lands in *out.
  void Start(Operation op, std::optional<absl::StatusOr<Response>>* out) {
    limiter_.RunAsync(op, request_, [out](absl::StatusOr<Response> r) {
      *out = std::move(r);
    });
  }

  static uint64_t CountOf(const std::optional<absl::StatusOr<Response>>& r) {
    EXPECT_TRUE(r.has_value());
    if (!r.has_value() || !r->ok()) return ~uint64_t{0};
    return (**r).verdicts[0].count;
  }

  SimulatedClock clock_{AlignedStart()};
  OrderedCounterStore inner_;
  CachedCounterStore cache_{&inner_, CounterCacheOptions{}};
  Limiter limiter_;
  const Request request_ = MakeRequest({Subject("login", {{"user", "alice"}})});
};

TEST_F(LimiterPipelinedTest, NextRequestDecidesOnTheQueuedState) {
  std::optional<absl::StatusOr<Response>> first, second;
  Start(Operation::kRecord, &first);
  Start(Operation::kRecord, &second);
  // Both decided and queued; neither is answered before its write.
  EXPECT_EQ(inner_.queued(), 2u);
  EXPECT_FALSE(first.has_value());
  EXPECT_FALSE(second.has_value());

  inner_.WriteNext();
  EXPECT_EQ(CountOf(first), 1u);
  EXPECT_FALSE(second.has_value());
  inner_.WriteNext();
  EXPECT_EQ(CountOf(second), 2u);
  EXPECT_GT((**second).verdicts[0].audit_sequence,
            (**first).verdicts[0].audit_sequence);
}

TEST_F(LimiterPipelinedTest, ChecksOnQueuedStatesAdmitNoMoreThanTheLimit) {
  std::optional<absl::StatusOr<Response>> a, b, c;
  Start(Operation::kCheck, &a);
  Start(Operation::kCheck, &b);
  Start(Operation::kCheck, &c);
  // The third is denied on the two queued ones: its denial is written
  // after them.
  ASSERT_EQ(inner_.queued(), 3u);
  inner_.WriteNext();
  inner_.WriteNext();
  inner_.WriteNext();
  ASSERT_TRUE(a.has_value() && b.has_value() && c.has_value());
  ASSERT_TRUE(a->ok() && b->ok() && c->ok());
  EXPECT_TRUE((**a).allowed);
  EXPECT_TRUE((**b).allowed);
  EXPECT_FALSE((**c).allowed);
  EXPECT_EQ(CountOf(c), 2u);
}

TEST_F(LimiterPipelinedTest, RequestDecidedOnAFailedCommitFailsToo) {
  std::optional<absl::StatusOr<Response>> first, second, denied;
  Start(Operation::kRecord, &first);
  Start(Operation::kRecord, &second);
  Start(Operation::kCheck, &denied);
  ASSERT_EQ(inner_.queued(), 3u);

  inner_.WriteNext(absl::UnavailableError("disk full"));
  ASSERT_TRUE(first.has_value());
  EXPECT_TRUE(absl::IsUnavailable(first->status())) << first->status();
  inner_.WriteNext();
  ASSERT_TRUE(second.has_value());
  EXPECT_TRUE(absl::IsUnavailable(second->status()))
      << "it counted on the failed Record's hit";
  inner_.WriteNext();
  ASSERT_TRUE(denied.has_value());
  EXPECT_TRUE(absl::IsUnavailable(denied->status()))
      << "its denial rested on the failed Records";

  // Nothing was counted: the next Record starts from the store.
  std::optional<absl::StatusOr<Response>> again;
  Start(Operation::kRecord, &again);
  inner_.WriteNext();
  EXPECT_EQ(CountOf(again), 1u);
}

TEST_F(LimiterPipelinedTest, PeekAnswersAtOnceFromWhatIsWritten) {
  std::optional<absl::StatusOr<Response>> record, peek;
  Start(Operation::kRecord, &record);
  Start(Operation::kPeek, &peek);
  EXPECT_EQ(CountOf(peek), 0u) << "the Record is not written yet";
  inner_.WriteNext();
  EXPECT_EQ(CountOf(record), 1u);
  std::optional<absl::StatusOr<Response>> after;
  Start(Operation::kPeek, &after);
  EXPECT_EQ(CountOf(after), 1u);
}

}  // namespace
}  // namespace core_test
}  // namespace gatehouse
