#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "service/metrics/registry.h"

namespace gatehouse::metrics {
namespace {

constexpr int kThreads = 8;
constexpr int kPerThread = 100000;

// Runs `body(thread_index)` on kThreads threads started together.
template <typename F>
void RunConcurrently(F body) {
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) threads.emplace_back(body, t);
  for (std::thread& thread : threads) thread.join();
}

TEST(ConcurrencyTest, CounterLosesNoIncrement) {
  Registry registry;
  Counter& counter =
      registry.AddCounter("hits_total", "H.", {"policy"}).WithLabels({"p"});
  RunConcurrently([&](int) {
    for (int i = 0; i < kPerThread; ++i) counter.Increment();
  });
  EXPECT_EQ(counter.Value(), uint64_t{kThreads} * kPerThread);
  EXPECT_NE(registry.Render().find("hits_total{policy=\"p\"} 800000\n"),
            std::string::npos);
}

TEST(ConcurrencyTest, GaugeLosesNoIncrement) {
  Registry registry;
  Gauge& gauge = registry.AddGauge("inflight", "I.").WithLabels({});
  RunConcurrently([&](int t) {
    for (int i = 0; i < kPerThread; ++i) {
      // Half the threads add 2 and take 1 back: the net is +1 each round.
      gauge.Increment(t % 2 == 0 ? 1 : 2);
      if (t % 2 != 0) gauge.Decrement();
    }
  });
  EXPECT_EQ(gauge.Value(), double{kThreads} * kPerThread);
}

TEST(ConcurrencyTest, HistogramLosesNoObservation) {
  Registry registry;
  Histogram& histogram =
      registry.AddHistogram("d_seconds", "D.", {}, {1, 2}).WithLabels({});
  RunConcurrently([&](int t) {
    for (int i = 0; i < kPerThread; ++i) histogram.Observe(t % 3);
  });
  const Histogram::Snapshot snapshot = histogram.Read();
  // Threads 0,3,6 observe 0; 1,4,7 observe 1; 2,5 observe 2.
  EXPECT_EQ(
      snapshot.cumulative_counts,
      (std::vector<uint64_t>{6 * kPerThread, 8 * kPerThread, 8 * kPerThread}));
  EXPECT_EQ(snapshot.count, uint64_t{kThreads} * kPerThread);
  EXPECT_EQ(snapshot.sum, double{3 * kPerThread + 2 * 2 * kPerThread});
}

TEST(ConcurrencyTest, SeriesCreatedConcurrentlyAreSharedAndRenderable) {
  Registry registry;
  Family<Counter>& family = registry.AddCounter("c_total", "C.", {"k"});
  std::thread scraper([&] {
    for (int i = 0; i < 200; ++i) registry.Render();
  });
  RunConcurrently([&](int) {
    for (int i = 0; i < 1000; ++i) {
      family.WithLabels({std::to_string(i % 10)}).Increment();
    }
  });
  scraper.join();
  for (int k = 0; k < 10; ++k) {
    EXPECT_EQ(family.WithLabels({std::to_string(k)}).Value(),
              uint64_t{kThreads} * 100);
  }
}

}  // namespace
}  // namespace gatehouse::metrics
