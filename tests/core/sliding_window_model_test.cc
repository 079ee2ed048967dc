// The sliding window, driven through the Limiter on a simulated clock, against
// a brute-force reference that logs every counted hit with its time.

#include <algorithm>
#include <cstdint>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "service/clock/simulated_clock.h"
#include "service/core/in_memory_counter_store.h"
#include "service/core/limiter.h"
#include "service/core/policy.h"
#include "service/core/subject_key.h"

namespace gatehouse {
namespace {

constexpr int64_t kNinetyDaysMs = int64_t{90} * 86'400'000;
constexpr int kSeeds = 400;
constexpr int kEventsPerSeed = 400;

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if (a % b != 0 && (a < 0) != (b < 0)) --q;
  return q;
}

struct LoggedHit {
  int64_t t;
  uint64_t hits;
};

// Every counted hit with its time, and the questions the limiter answers,
// answered by brute force over that log. REQUIRES: the clock never goes back,
// so the log is in time order and no hit is newer than a query time.
class ReferenceModel {
 public:
  ReferenceModel(int64_t window_ms, int64_t bucket_ms, uint64_t limit)
      : w_(window_ms), g_(bucket_ms), limit_(limit) {}

  void Log(int64_t t, uint64_t hits) { log_.push_back({t, hits}); }

  // The bucketed count: hits at or after the start of the bucket holding
  // t - W.
  uint64_t Count(int64_t t) const {
    const int64_t from = FloorDiv(t - w_, g_) * g_;
    uint64_t n = 0;
    for (const LoggedHit& h : log_) {
      if (h.t >= from) n += h.hits;
    }
    return n;
  }

  // An exact sliding log over the closed interval [t - W, t].
  uint64_t ExactCount(int64_t t) const {
    uint64_t n = 0;
    for (const LoggedHit& h : log_) {
      if (h.t >= t - w_ && h.t <= t) n += h.hits;
    }
    return n;
  }

  // Smallest d >= 0 with Count(t + d) + hits <= limit (Count(t + d) never
  // grows with d); when hits > limit, the time until the window is empty.
  int64_t RetryAfter(int64_t t, uint64_t hits) const {
    const uint64_t budget = hits > limit_ ? 0 : limit_ - hits;
    return SmallestWait(t, [&](int64_t u) { return Count(u) <= budget; });
  }
  int64_t ExactRetryAfter(int64_t t, uint64_t hits) const {
    const uint64_t budget = hits > limit_ ? 0 : limit_ - hits;
    return SmallestWait(t, [&](int64_t u) { return ExactCount(u) <= budget; });
  }
  int64_t ResetAfter(int64_t t) const {
    return SmallestWait(t, [&](int64_t u) { return Count(u) == 0; });
  }

  // The time of the oldest logged hit still counted at t, if any.
  std::optional<int64_t> OldestCountedHit(int64_t t) const {
    const int64_t from = FloorDiv(t - w_, g_) * g_;
    for (const LoggedHit& h : log_) {
      if (h.t >= from) return h.t;
    }
    return std::nullopt;
  }

 private:
  // Binary search for the first u >= t where ok(u); ok is monotone and holds
  // by t + W + g, when every hit logged so far has left.
  template <typename Pred>
  int64_t SmallestWait(int64_t t, Pred ok) const {
    int64_t lo = 0, hi = w_ + g_ + 1;
    if (ok(t)) return 0;
    while (hi - lo > 1) {  // Invariant: !ok(t + lo), ok(t + hi).
      const int64_t mid = lo + (hi - lo) / 2;
      if (ok(t + mid)) {
        hi = mid;
      } else {
        lo = mid;
      }
    }
    return hi;
  }

  int64_t w_, g_;
  uint64_t limit_;
  std::vector<LoggedHit> log_;
};

// Integer-only so runs are identical on every platform.
int64_t RandomWindow(std::mt19937_64& rng) {
  static constexpr int64_t kNamed[] = {1'000, 60'000, 3'600'000, 86'400'000,
                                       kNinetyDaysMs};
  if (std::uniform_int_distribution<int>(0, 4)(rng) == 0) {
    return kNamed[std::uniform_int_distribution<int>(0, 4)(rng)];
  }
  const int shift = std::uniform_int_distribution<int>(0, 23)(rng);
  const int64_t base = int64_t{1'000} << shift;
  return std::min(kNinetyDaysMs,
                  base + std::uniform_int_distribution<int64_t>(0, base)(rng));
}

int RandomBuckets(std::mt19937_64& rng) {
  switch (std::uniform_int_distribution<int>(0, 2)(rng)) {
    case 0:
      return std::uniform_int_distribution<int>(1, 10)(rng);
    case 1:
      return std::uniform_int_distribution<int>(1, 120)(rng);
    default:
      return std::uniform_int_distribution<int>(1, 5'000)(rng);
  }
}

struct Totals {
  int allowed = 0;
  int denied = 0;
  int retries_probed = 0;
  int retries_taken = 0;
  int seeds_at_limit = 0;  // Seeds where some window held exactly `limit`.
  // Seeds where a state held more buckets than the policy's bucket count.
  int seeds_past_bucket_count = 0;
};

class SlidingWindowModelTest : public ::testing::Test {
 protected:
  void RunSeed(uint64_t seed, Totals& totals);
};

void SlidingWindowModelTest::RunSeed(uint64_t seed, Totals& totals) {
  std::mt19937_64 rng(seed);
  Policy policy;
  policy.name = "p";
  policy.dimensions = {"user"};
  policy.window = absl::Milliseconds(RandomWindow(rng));
  policy.buckets = RandomBuckets(rng);
  if (std::uniform_int_distribution<int>(0, 5)(rng) == 0) {
    // Short windows split finely, where window / buckets is not a whole
    // number of milliseconds and rounding decides how many buckets a window
    // spans.
    policy.window = absl::Milliseconds(
        std::uniform_int_distribution<int64_t>(1'000, 3'000)(rng));
    policy.buckets = std::uniform_int_distribution<int>(20, 60)(rng);
  }
  policy.limit = std::uniform_int_distribution<uint64_t>(1, 25)(rng);
  const int64_t w = policy.WindowMillis();
  const int64_t g = policy.BucketMillis();
  const uint64_t limit = policy.limit;
  SCOPED_TRACE(absl::StrCat("seed ", seed, ": window ", w, "ms, ",
                            policy.buckets, " buckets of ", g, "ms, limit ",
                            limit));

  // Half the seeds start within a window of the epoch, so t - W is negative
  // and the floor division of negative times is exercised.
  int64_t now = std::uniform_int_distribution<int>(0, 1)(rng) == 0
                    ? std::uniform_int_distribution<int64_t>(0, w)(rng)
                    : std::uniform_int_distribution<int64_t>(
                          1'600'000'000'000, 1'800'000'000'000)(rng);
  SimulatedClock clock(absl::FromUnixMillis(now));
  InMemoryCounterStore store;
  Limiter limiter(
      &clock, &store,
      std::make_shared<const PolicySet>(std::vector<Policy>{policy}));
  const std::map<std::string, std::string> key = {{"user", "alice"}};
  absl::StatusOr<std::string> storage_key =
      DeriveStorageKey(policy, key, "key");
  ASSERT_TRUE(storage_key.ok()) << storage_key.status();

  auto read_state = [&]() -> std::optional<CounterState> {
    absl::StatusOr<std::optional<CounterState>> s = store.Read(*storage_key);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? *s : std::nullopt;
  };
  auto run = [&](Operation op, uint64_t hits) -> std::optional<Response> {
    Request request;
    SubjectRequest subject;
    subject.policy = policy.name;
    subject.key = key;
    subject.hits = hits;
    request.subjects.push_back(std::move(subject));
    absl::StatusOr<Response> r = limiter.Run(op, request);
    EXPECT_TRUE(r.ok()) << r.status();
    if (!r.ok() || r->verdicts.size() != 1) return std::nullopt;
    return *r;
  };

  ReferenceModel ref(w, g, limit);
  std::vector<LoggedHit> admitted;  // Hits admitted by Check.
  std::optional<std::pair<int64_t, uint64_t>> pending_retry;

  // Streams alternate between mixed phases and dense ones, which put hits in
  // (nearly) every bucket so the bucket list grows as long as it can.
  bool past_bucket_count = false;
  bool dense = false;
  int phase_left = 0;
  for (int event = 0; event < kEventsPerSeed; ++event) {
    if (phase_left-- == 0) {
      dense = std::uniform_int_distribution<int>(0, 1)(rng) == 0;
      phase_left = std::uniform_int_distribution<int>(20, 200)(rng);
    }
    Operation op;
    uint64_t hits;
    if (pending_retry) {
      // Wait exactly the retry_after of a denied Check and send it again.
      now += pending_retry->first;
      op = Operation::kCheck;
      hits = pending_retry->second;
    } else if (dense) {
      now += std::uniform_int_distribution<int64_t>(g / 2, g)(rng);
      op = std::uniform_int_distribution<int>(0, 7)(rng) == 0
               ? Operation::kCheck
               : Operation::kRecord;
      hits = std::uniform_int_distribution<uint64_t>(1, 3)(rng);
    } else {
      switch (std::uniform_int_distribution<int>(0, 9)(rng)) {
        case 0:
          break;  // Same millisecond.
        case 1:
          now += std::uniform_int_distribution<int64_t>(0, g)(rng);
          break;
        case 2:
        case 3:
        case 4:
          now += std::uniform_int_distribution<int64_t>(
              0, std::max<int64_t>(1, w / static_cast<int64_t>(limit)))(rng);
          break;
        case 5:
          now += std::uniform_int_distribution<int64_t>(0, w / 8)(rng);
          break;
        case 6:
          now += std::uniform_int_distribution<int64_t>(0, 2 * w)(rng);
          break;
        case 7: {  // Around the next bucket boundary.
          const int64_t next = (FloorDiv(now, g) + 1) * g;
          now = std::max(
              now, next + std::uniform_int_distribution<int64_t>(-1, 1)(rng));
          break;
        }
        default: {  // Around the moment the oldest counted hit leaves, in
                    // the exact and in the bucketed sense.
          std::optional<int64_t> oldest = ref.OldestCountedHit(now);
          if (!oldest) break;
          const int64_t edge =
              std::uniform_int_distribution<int>(0, 1)(rng) == 0
                  ? *oldest + w
                  : (FloorDiv(*oldest, g) + 1) * g + w;
          now = std::max(
              now, edge + std::uniform_int_distribution<int64_t>(-1, 1)(rng));
          break;
        }
      }
      const int r = std::uniform_int_distribution<int>(0, 99)(rng);
      op = r < 55 ? Operation::kCheck
                  : (r < 75 ? Operation::kRecord : Operation::kPeek);
      hits = std::uniform_int_distribution<uint64_t>(1, 3)(rng);
    }
    const bool was_retry = pending_retry.has_value();
    pending_retry.reset();
    clock.Set(absl::FromUnixMillis(now));
    SCOPED_TRACE(absl::StrCat("event ", event, " ", OperationName(op), " x",
                              hits, " at ", now, "ms"));

    const uint64_t before = ref.Count(now);
    const std::optional<CounterState> state_before = read_state();
    const std::optional<Response> response = run(op, hits);
    if (!response) return;
    const Verdict& v = response->verdicts.front();

    uint64_t after = before;
    bool expect_deny = false;
    switch (op) {
      case Operation::kCheck:
      case Operation::kPeek:
        expect_deny = before + hits > limit;
        if (op == Operation::kCheck && !expect_deny) {
          ref.Log(now, hits);
          admitted.push_back({now, hits});
          after += hits;
        }
        break;
      case Operation::kRecord:
        ref.Log(now, hits);
        after += hits;
        expect_deny = after + 1 > limit;
        break;
      case Operation::kReset:
        break;
    }
    ASSERT_EQ(v.count, after) << "reference count " << ref.Count(now);
    ASSERT_EQ(v.decision, expect_deny ? Decision::kDeny : Decision::kAllow);
    ASSERT_EQ(response->allowed, !expect_deny);
    EXPECT_EQ(v.limit, limit);
    EXPECT_EQ(v.remaining, after >= limit ? 0 : limit - after);
    EXPECT_EQ(v.window, policy.window);
    EXPECT_EQ(v.ceiling_hit,
              after != before && before < limit && after >= limit);
    EXPECT_EQ(v.reset_after, absl::Milliseconds(ref.ResetAfter(now)));
    if (was_retry) {
      ASSERT_EQ(v.decision, Decision::kAllow)
          << "denied again after waiting exactly retry_after";
      ++totals.retries_taken;
    }
    if (expect_deny) {
      ++totals.denied;
    } else if (op == Operation::kCheck) {
      ++totals.allowed;
    }

    const std::optional<CounterState> state_after = read_state();
    if (after == before) {
      // Peek and a denied Check write nothing.
      EXPECT_EQ(state_after, state_before);
    } else {
      ASSERT_TRUE(state_after.has_value());
      EXPECT_EQ(state_after->bucket_ms, g);
      EXPECT_LE(state_after->buckets.size(),
                static_cast<size_t>(policy.buckets) + 2);
      if (state_after->buckets.size() > static_cast<size_t>(policy.buckets)) {
        past_bucket_count = true;
      }
      for (size_t i = 0; i < state_after->buckets.size(); ++i) {
        EXPECT_GT(state_after->buckets[i].count, 0u);
        if (i > 0) {
          EXPECT_LT(state_after->buckets[i - 1].index,
                    state_after->buckets[i].index);
        }
      }
      EXPECT_EQ(state_after->expires_at_ms, now + ref.ResetAfter(now));
    }

    if (!expect_deny) {
      EXPECT_EQ(v.retry_after, absl::ZeroDuration());
      continue;
    }
    // retry_after is for this operation's hits (Record: the next single one).
    const uint64_t retry_hits = op == Operation::kRecord ? 1 : hits;
    const int64_t retry_ms = ref.RetryAfter(now, retry_hits);
    ASSERT_EQ(v.retry_after, absl::Milliseconds(retry_ms));
    if (retry_hits <= limit) {
      ASSERT_GT(retry_ms, 0);
      // Accurate to bucket granularity against an exact sliding log.
      const int64_t exact_ms = ref.ExactRetryAfter(now, retry_hits);
      EXPECT_GE(retry_ms, exact_ms);
      EXPECT_LE(retry_ms, exact_ms + g - 1);
    }
    if (op == Operation::kRecord) continue;

    // The minimal wait: the same Check is still denied 1ms before retry_after
    // and allowed at it. Peek answers for Check without changing anything,
    // so the clock can go back afterwards.
    ++totals.retries_probed;
    const Request same = [&] {
      Request r;
      SubjectRequest subject;
      subject.policy = policy.name;
      subject.key = key;
      subject.hits = hits;
      r.subjects.push_back(std::move(subject));
      return r;
    }();
    if (retry_ms > 0) {
      clock.Set(absl::FromUnixMillis(now + retry_ms - 1));
      absl::StatusOr<Response> early = limiter.Peek(same);
      ASSERT_TRUE(early.ok()) << early.status();
      EXPECT_EQ(early->verdicts.front().decision, Decision::kDeny)
          << "allowed 1ms before retry_after " << retry_ms;
    }
    clock.Set(absl::FromUnixMillis(now + retry_ms));
    absl::StatusOr<Response> on_time = limiter.Peek(same);
    ASSERT_TRUE(on_time.ok()) << on_time.status();
    if (hits <= limit) {
      EXPECT_EQ(on_time->verdicts.front().decision, Decision::kAllow)
          << "denied at retry_after " << retry_ms;
    } else {
      // More hits than the limit never fit; retry_after is until empty.
      EXPECT_EQ(on_time->verdicts.front().decision, Decision::kDeny);
      EXPECT_EQ(on_time->verdicts.front().count, 0u);
    }
    clock.Set(absl::FromUnixMillis(now));
    EXPECT_EQ(read_state(), state_after);
    if (!dense && hits <= limit &&
        std::uniform_int_distribution<int>(0, 2)(rng) == 0) {
      pending_retry.emplace(retry_ms, hits);
    }
  }

  // The strict property: no closed interval of length W holds more than
  // `limit` hits admitted by Check. The worst interval ends at an admitted
  // hit, so checking those intervals covers every interval, including those
  // straddling bucket and window boundaries.
  uint64_t worst = 0;
  size_t first = 0;
  uint64_t in_interval = 0;
  for (size_t last = 0; last < admitted.size(); ++last) {
    in_interval += admitted[last].hits;
    while (admitted[first].t < admitted[last].t - w) {
      in_interval -= admitted[first].hits;
      ++first;
    }
    ASSERT_LE(in_interval, limit)
        << "interval [" << admitted[last].t - w << ", " << admitted[last].t
        << "] admitted " << in_interval;
    worst = std::max(worst, in_interval);
  }
  if (worst == limit) ++totals.seeds_at_limit;
  if (past_bucket_count) ++totals.seeds_past_bucket_count;
}

TEST_F(SlidingWindowModelTest, MatchesBruteForceReferenceOnRandomStreams) {
  Totals totals;
  for (uint64_t seed = 1; seed <= kSeeds; ++seed) {
    RunSeed(seed, totals);
    if (HasFailure()) break;  // One seed's failures are enough to read.
  }
  // The streams must actually exercise both outcomes and the retry paths.
  EXPECT_GT(totals.allowed, kSeeds * 10);
  EXPECT_GT(totals.denied, kSeeds * 10);
  EXPECT_GT(totals.retries_probed, kSeeds * 5);
  EXPECT_GT(totals.retries_taken, kSeeds);
  EXPECT_GT(totals.seeds_at_limit, kSeeds / 2);
  EXPECT_GT(totals.seeds_past_bucket_count, kSeeds / 20);
  std::cout << "allowed " << totals.allowed << ", denied " << totals.denied
            << ", retries probed " << totals.retries_probed << ", taken "
            << totals.retries_taken << ", seeds reaching the limit "
            << totals.seeds_at_limit << ", past the bucket count "
            << totals.seeds_past_bucket_count << "\n";
}

}  // namespace
}  // namespace gatehouse
