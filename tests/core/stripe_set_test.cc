#include "service/core/stripe_set.h"

#include <algorithm>
#include <atomic>
#include <random>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace gatehouse {
namespace {

TEST(StripeSetTest, FreeStripesRunTheRequestAtOnce) {
  StripeSet set(4);
  bool ran = false;
  set.Acquire({0, 2}, [&] { ran = true; });
  EXPECT_TRUE(ran);
  set.Release({0, 2});
}

TEST(StripeSetTest, HeldStripeQueuesRequestsFirstComeFirstServed) {
  StripeSet set(4);
  set.Acquire({1}, [] {});
  std::vector<int> order;
  set.Acquire({1}, [&] { order.push_back(1); });
  set.Acquire({1, 3}, [&] { order.push_back(2); });
  EXPECT_TRUE(order.empty());

  // The first waiter is resumed by the release, on the releasing thread.
  set.Release({1});
  EXPECT_EQ(order, std::vector<int>({1}));
  set.Release({1});
  EXPECT_EQ(order, std::vector<int>({1, 2}));
  set.Release({1, 3});

  bool free_again = false;
  set.Acquire({1, 3}, [&] { free_again = true; });
  EXPECT_TRUE(free_again);
  set.Release({1, 3});
}

TEST(StripeSetTest, RequestRunsOnlyOnceEveryStripeIsItsOwn) {
  StripeSet set(4);
  set.Acquire({0}, [] {});
  set.Acquire({2}, [] {});
  bool ran = false;
  set.Acquire({0, 2}, [&] { ran = true; });
  set.Release({0});
  EXPECT_FALSE(ran) << "stripe 2 is still held";
  set.Release({2});
  EXPECT_TRUE(ran);
  set.Release({0, 2});
}

TEST(StripeSetTest, ConcurrentOverlappingRequestsExcludeEachOther) {
  constexpr size_t kStripes = 8;
  StripeSet set(kStripes);
  std::vector<std::atomic<int>> owners(kStripes);
  std::atomic<int> overlaps{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(t);
      for (int i = 0; i < 3000; ++i) {
        std::vector<size_t> stripes;
        for (size_t s = 0; s < kStripes; ++s) {
          if (rng() % 3 == 0) stripes.push_back(s);
        }
        if (stripes.empty()) stripes.push_back(rng() % kStripes);
        set.AcquireBlocking(stripes);
        for (size_t s : stripes) {
          if (owners[s].fetch_add(1) != 0) ++overlaps;
        }
        for (size_t s : stripes) owners[s].fetch_sub(1);
        set.Release(stripes);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(overlaps.load(), 0);
}

// A request resumed by a release that releases its own stripe at once
// (as the Limiter does once its commit is queued) hands the stripe on to
// the next waiter: a long chain of them runs one after another on the
// releasing thread, in order, without nesting on its stack.
TEST(StripeSetTest, ChainOfHandOversRunsInOrderWithoutNesting) {
  constexpr int kWaiters = 200000;
  StripeSet set(2);
  set.Acquire({0}, [] {});
  std::vector<int> order;
  order.reserve(kWaiters);
  int depth = 0;
  int max_depth = 0;
  for (int i = 0; i < kWaiters; ++i) {
    set.Acquire({0}, [&, i] {
      max_depth = std::max(max_depth, ++depth);
      order.push_back(i);
      set.Release({0});
      --depth;
    });
  }
  set.Release({0});
  ASSERT_EQ(order.size(), static_cast<size_t>(kWaiters));
  for (int i = 0; i < kWaiters; ++i) ASSERT_EQ(order[i], i);
  EXPECT_EQ(max_depth, 1);
  // Free again: the last one released it.
  bool free_again = false;
  set.Acquire({0}, [&] { free_again = true; });
  EXPECT_TRUE(free_again);
  set.Release({0});
}

// A blocking acquire made while this thread resumes requests is not left
// for later: it would wait for itself.
TEST(StripeSetTest, BlockingAcquireInsideAResumedRequestDoesNotDeadlock) {
  StripeSet set(4);
  set.Acquire({0}, [] {});
  bool ran = false;
  set.Acquire({0}, [&] {
    set.AcquireBlocking({1});
    set.Release({1});
    ran = true;
    set.Release({0});
  });
  set.Release({0});
  EXPECT_TRUE(ran);
}

}  // namespace
}  // namespace gatehouse
