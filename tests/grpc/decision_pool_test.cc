// DecisionPool: runs every piece of work queued, as many at once as it has
// threads, and whatever is still queued when it is destroyed.

#include "service/grpc/decision_pool.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace gatehouse {
namespace {

TEST(DecisionPoolTest, RunsEveryQueuedWorkOnItsOwnThreads) {
  std::atomic<int> ran{0};
  std::atomic<int> on_caller{0};
  const std::thread::id caller = std::this_thread::get_id();
  {
    DecisionPool pool(4);
    EXPECT_EQ(pool.threads(), 4);
    for (int i = 0; i < 1000; ++i) {
      pool.Run([&] {
        if (std::this_thread::get_id() == caller) ++on_caller;
        ++ran;
      });
    }
  }
  EXPECT_EQ(ran.load(), 1000);
  EXPECT_EQ(on_caller.load(), 0);
}

TEST(DecisionPoolTest, RunsAsManyAtOnceAsItHasThreads) {
  constexpr int kThreads = 4;
  DecisionPool pool(kThreads);
  absl::Mutex mu;
  int running = 0;
  int most = 0;
  for (int i = 0; i < 2 * kThreads; ++i) {
    pool.Run([&] {
      absl::MutexLock lock(&mu);
      most = std::max(most, ++running);
      // Each waits (up to 10 s) for all the pool's threads to be in here.
      auto all_in = [&] { return most == kThreads; };
      mu.AwaitWithTimeout(absl::Condition(&all_in), absl::Seconds(10));
      --running;
    });
  }
  absl::MutexLock lock(&mu);
  auto done = [&] { return most == kThreads && running == 0; };
  ASSERT_TRUE(mu.AwaitWithTimeout(absl::Condition(&done), absl::Seconds(20)));
  EXPECT_EQ(most, kThreads);
}

TEST(DecisionPoolTest, DestructionRunsWhatIsStillQueued) {
  absl::Notification release;
  std::atomic<int> ran{0};
  auto pool = std::make_unique<DecisionPool>(1);
  pool->Run([&] {
    release.WaitForNotification();
    ++ran;
  });
  for (int i = 0; i < 10; ++i) pool->Run([&] { ++ran; });
  EXPECT_EQ(ran.load(), 0);
  std::thread destroyer([&] { pool.reset(); });
  release.Notify();
  destroyer.join();
  EXPECT_EQ(ran.load(), 11);
}

}  // namespace
}  // namespace gatehouse
