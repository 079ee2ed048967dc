// Many threads on one Limiter: per-key read-modify-write must lose nothing
// and admit nothing twice.

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <numeric>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "service/core/limiter.h"
#include "tests/core/limiter_test_util.h"

namespace gatehouse {
namespace {

using core_test::MakePolicy;
using core_test::MakeRequest;
using core_test::Subject;

constexpr int kThreads = 8;

// Runs body(thread_index) on kThreads threads released together.
template <typename Body>
void RunThreads(Body body) {
  absl::Notification start;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&start, &body, t] {
      start.WaitForNotification();
      body(t);
    });
  }
  start.Notify();
  for (std::thread& thread : threads) thread.join();
}

std::vector<uint64_t> OneTo(uint64_t n) {
  std::vector<uint64_t> v(n);
  std::iota(v.begin(), v.end(), 1);
  return v;
}

class LimiterConcurrencyTest : public core_test::LimiterFixture {
 protected:
  void SetUp() override {
    Install({MakePolicy("bulk", {"user"}, 1'000'000, absl::Hours(1)),
             MakePolicy("api", {"user"}, 100, absl::Hours(1)),
             MakePolicy("pair", {"user"}, 1'000, absl::Hours(1))});
  }
  static SubjectRequest Bulk() { return Subject("bulk", {{"user", "alice"}}); }
  static SubjectRequest Api() { return Subject("api", {{"user", "alice"}}); }
};

TEST_F(LimiterConcurrencyTest, RecordsFromManyThreadsAreAllCounted) {
  constexpr int kPerThread = 500;
  std::vector<std::vector<uint64_t>> seen(kThreads);
  RunThreads([&](int t) {
    for (int i = 0; i < kPerThread; ++i) {
      absl::StatusOr<Response> r = limiter_->Record(MakeRequest({Bulk()}));
      if (r.ok()) seen[t].push_back(r->verdicts[0].count);
    }
  });
  EXPECT_EQ(Peek(Bulk()).count, uint64_t{kThreads * kPerThread});
  // Serialised per key: every Record saw a distinct count.
  std::vector<uint64_t> all;
  for (const auto& s : seen) all.insert(all.end(), s.begin(), s.end());
  std::sort(all.begin(), all.end());
  EXPECT_EQ(all, OneTo(kThreads * kPerThread));
}

TEST_F(LimiterConcurrencyTest, ChecksFromManyThreadsNeverAdmitMoreThanLimit) {
  constexpr int kPerThread = 200;
  std::vector<std::vector<uint64_t>> admitted(kThreads);
  std::atomic<int> denied{0};
  RunThreads([&](int t) {
    for (int i = 0; i < kPerThread; ++i) {
      absl::StatusOr<Response> r = limiter_->Check(MakeRequest({Api()}));
      if (!r.ok()) continue;
      if (r->allowed) {
        admitted[t].push_back(r->verdicts[0].count);
      } else {
        denied.fetch_add(1);
      }
    }
  });
  std::vector<uint64_t> all;
  for (const auto& a : admitted) all.insert(all.end(), a.begin(), a.end());
  std::sort(all.begin(), all.end());
  EXPECT_EQ(all, OneTo(100));
  EXPECT_EQ(denied.load(), kThreads * kPerThread - 100);
  EXPECT_EQ(Peek(Api()).count, 100u);
}

// Two keys named in opposite orders by different threads: the striped locks
// are taken in a fixed order (no deadlock) and each Check counts both keys
// or neither.
TEST_F(LimiterConcurrencyTest, MultiSubjectChecksStayAtomicWithoutDeadlock) {
  constexpr int kPerThread = 300;
  const SubjectRequest a = Subject("pair", {{"user", "a"}});
  const SubjectRequest b = Subject("pair", {{"user", "b"}});
  std::atomic<int> allowed{0};
  RunThreads([&](int t) {
    const Request request =
        t % 2 == 0 ? MakeRequest({a, b}) : MakeRequest({b, a});
    for (int i = 0; i < kPerThread; ++i) {
      absl::StatusOr<Response> r = limiter_->Check(request);
      if (r.ok() && r->allowed) allowed.fetch_add(1);
    }
  });
  EXPECT_EQ(allowed.load(), 1'000);
  EXPECT_EQ(Peek(a).count, 1'000u);
  EXPECT_EQ(Peek(b).count, 1'000u);
}

TEST_F(LimiterConcurrencyTest, BatchesAndUnaryCallsTogetherLoseNothing) {
  // Batches name the users in different orders and mix with unary Records
  // and Checks on the same keys: no deadlock, every hit counted once.
  constexpr int kRounds = 100;
  constexpr int kUsers = 4;
  auto user = [](int u) {
    return Subject("bulk", {{"user", "u" + std::to_string(u)}});
  };
  std::atomic<int> failures{0};
  RunThreads([&](int t) {
    for (int i = 0; i < kRounds; ++i) {
      if (t % 2 == 0) {
        std::vector<Request> requests;
        for (int u = 0; u < kUsers; ++u) {
          requests.push_back(MakeRequest({user((u + t + i) % kUsers)}));
        }
        std::vector<BatchItem> items;
        for (size_t k = 0; k < requests.size(); ++k) {
          items.push_back({k % 2 == 0 ? Operation::kRecord : Operation::kCheck,
                           &requests[k]});
        }
        for (const auto& r : limiter_->RunBatch(items)) {
          if (!r.ok() || !r->allowed) ++failures;
        }
      } else {
        absl::StatusOr<Response> r = limiter_->Check(
            MakeRequest({user((t + i) % kUsers), user((t + i + 1) % kUsers)}));
        if (!r.ok() || !r->allowed) ++failures;
      }
    }
  });
  EXPECT_EQ(failures.load(), 0);
  uint64_t total = 0;
  for (int u = 0; u < kUsers; ++u) total += Peek(user(u)).count;
  // Batch threads count kUsers per round, unary threads 2.
  EXPECT_EQ(total, uint64_t{(kThreads / 2) * kRounds * (kUsers + 2)});
}

TEST_F(LimiterConcurrencyTest, RecordsStayCountedWhileTheClockMoves) {
  constexpr int kPerThread = 500;
  std::atomic<bool> done{false};
  std::thread ticker([&] {
    // 1ms steps: hits spread over many one-minute buckets of the hour.
    for (int i = 0; i < 200'000 && !done.load(); ++i) {
      clock_.Advance(absl::Milliseconds(1));
    }
  });
  RunThreads([&](int) {
    for (int i = 0; i < kPerThread; ++i) {
      ASSERT_TRUE(limiter_->Record(MakeRequest({Bulk()})).ok());
    }
  });
  done.store(true);
  ticker.join();
  ASSERT_LT(clock_.Now() - core_test::AlignedStart(), absl::Minutes(30));
  EXPECT_EQ(Peek(Bulk()).count, uint64_t{kThreads * kPerThread});
}

TEST_F(LimiterConcurrencyTest, PeekSeesCountsOnlyGrowWhileRecordsRun) {
  constexpr int kPerThread = 300;
  std::atomic<bool> done{false};
  std::vector<uint64_t> observed;
  std::thread reader([&] {
    while (!done.load()) {
      absl::StatusOr<Response> r = limiter_->Peek(MakeRequest({Bulk()}));
      if (r.ok()) observed.push_back(r->verdicts[0].count);
    }
  });
  RunThreads([&](int) {
    for (int i = 0; i < kPerThread; ++i) {
      ASSERT_TRUE(limiter_->Record(MakeRequest({Bulk()})).ok());
    }
  });
  done.store(true);
  reader.join();
  EXPECT_TRUE(std::is_sorted(observed.begin(), observed.end()));
  EXPECT_EQ(Peek(Bulk()).count, uint64_t{kThreads * kPerThread});
}

TEST_F(LimiterConcurrencyTest, PolicyReloadsDuringTrafficLoseNoHits) {
  constexpr int kPerThread = 400;
  std::atomic<bool> done{false};
  std::thread reloader([&] {
    for (uint64_t i = 0; !done.load(); ++i) {
      Install({MakePolicy("bulk", {"user"}, 1'000'000 + i % 7, absl::Hours(1),
                          i % 2 == 0 ? 60 : 120)});
    }
  });
  RunThreads([&](int) {
    for (int i = 0; i < kPerThread; ++i) {
      ASSERT_TRUE(limiter_->Record(MakeRequest({Bulk()})).ok());
    }
  });
  done.store(true);
  reloader.join();
  EXPECT_EQ(Peek(Bulk()).count, uint64_t{kThreads * kPerThread});
}

// Records locking keys out, Blocks, Unblocks and Resets of the same keys
// from many threads: afterwards the lockout index lists exactly the keys
// whose stored state is locked out, each once.
TEST_F(LimiterConcurrencyTest, LockoutIndexFollowsConcurrentLocksAndUnblocks) {
  Policy login = MakePolicy("login", {"user"}, 3, absl::Hours(1));
  login.lockout =
      LockoutSpec{absl::Minutes(15), 2.0, absl::Hours(1), absl::Hours(24)};
  Install({login});
  constexpr int kKeys = 16;
  constexpr int kRounds = 200;
  auto user = [](int k) {
    return Subject("login", {{"user", "u" + std::to_string(k)}});
  };
  RunThreads([&](int t) {
    for (int i = 0; i < kRounds; ++i) {
      const int k = (t * 7 + i) % kKeys;
      Request r = MakeRequest({user(k)});
      r.operator_reason = "race";
      switch ((t + i) % 4) {
        case 0:
        case 1:
          EXPECT_TRUE(limiter_->Record(r).ok());
          break;
        case 2:
          EXPECT_TRUE(limiter_->Block(r, absl::Minutes(5 + t)).ok());
          break;
        case 3:
          EXPECT_TRUE(i % 8 == 3 ? limiter_->Unblock(r).ok()
                                 : limiter_->Reset(r).ok());
          break;
      }
    }
  });
  absl::StatusOr<Limiter::LockoutListing> listed =
      limiter_->ListLockouts("", kMaxLockoutPageSize, "", "test", "");
  ASSERT_TRUE(listed.ok()) << listed.status();
  std::set<std::string> in_index;
  for (const LockoutEntry& e : listed->entries) {
    EXPECT_TRUE(in_index.insert(e.key[0].second).second)
        << e.key[0].second << " listed twice";
  }
  for (int k = 0; k < kKeys; ++k) {
    const Verdict v = Peek(user(k));
    const std::string name = "u" + std::to_string(k);
    EXPECT_EQ(v.locked_until.has_value(), in_index.count(name) == 1) << name;
  }
}

}  // namespace
}  // namespace gatehouse
