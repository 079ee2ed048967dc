#include "service/storage/dirty_counters.h"

#include <atomic>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "service/core/counter_state.h"
#include "service/core/counter_store.h"

namespace gatehouse {
namespace {

CounterState Count(uint64_t n) {
  CounterState s;
  s.bucket_ms = 1000;
  s.buckets = {{1, n}};
  return s;
}

uint64_t CountOf(const std::optional<CounterState>& s) {
  return s && !s->buckets.empty() ? s->buckets[0].count : 0;
}

WriteSet Puts(const std::vector<std::string>& keys, uint64_t n) {
  WriteSet w;
  for (const std::string& k : keys) w.puts.emplace_back(k, Count(n));
  return w;
}

TEST(DirtyCountersTest, TheNewestChangeOfAKeyIsFoundAndADeleteIsAnAbsentState) {
  DirtyCounters dirty;
  std::optional<CounterState> state;
  EXPECT_FALSE(dirty.Find("a", &state));
  WriteSet first = Puts({"a", "b"}, 1);
  WriteSet second = Puts({"a"}, 2);
  second.deletes = {"b"};
  dirty.Apply({&first, &second});
  ASSERT_TRUE(dirty.Find("a", &state));
  EXPECT_EQ(CountOf(state), 2u);
  ASSERT_TRUE(dirty.Find("b", &state));
  EXPECT_FALSE(state.has_value());
  EXPECT_EQ(dirty.size(), 2u);
}

TEST(DirtyCountersTest, ACommitsPutWinsOverItsOwnDeleteOfTheSameKey) {
  DirtyCounters dirty;
  WriteSet w = Puts({"a"}, 3);
  w.deletes = {"a"};
  dirty.Apply({&w});
  std::optional<CounterState> state;
  ASSERT_TRUE(dirty.Find("a", &state));
  EXPECT_EQ(CountOf(state), 3u);
}

TEST(DirtyCountersTest, AWrittenCheckpointDropsWhatItSealedButNotLaterChanges) {
  DirtyCounters dirty;
  WriteSet before = Puts({"a", "b"}, 1);
  dirty.Apply({&before});
  dirty.BeginCheckpoint();
  EXPECT_EQ(dirty.size(), 0u);
  WriteSet during = Puts({"b", "c"}, 2);
  dirty.Apply({&during});
  const std::vector<const DirtyCounters::Entry*> sealed =
      dirty.CheckpointEntries();
  ASSERT_EQ(sealed.size(), 2u);
  EXPECT_EQ(sealed[0]->first, "a");  // Sorted by key.
  EXPECT_EQ(sealed[1]->first, "b");
  EXPECT_EQ(CountOf(sealed[1]->second), 1u);
  std::optional<CounterState> state;
  ASSERT_TRUE(dirty.Find("a", &state)) << "still found while being written";
  ASSERT_TRUE(dirty.Find("b", &state));
  EXPECT_EQ(CountOf(state), 2u) << "the active generation first";
  dirty.EndCheckpoint(/*written=*/true);
  EXPECT_FALSE(dirty.Find("a", &state));
  ASSERT_TRUE(dirty.Find("b", &state));
  EXPECT_EQ(CountOf(state), 2u);
  EXPECT_EQ(dirty.size(), 2u);
}

TEST(DirtyCountersTest,
     AFailedCheckpointReturnsItsKeysWithoutOverwritingNewer) {
  DirtyCounters dirty;
  WriteSet before = Puts({"a", "b"}, 1);
  dirty.Apply({&before});
  dirty.BeginCheckpoint();
  WriteSet during = Puts({"b"}, 2);
  dirty.Apply({&during});
  dirty.EndCheckpoint(/*written=*/false);
  EXPECT_EQ(dirty.size(), 2u);
  std::optional<CounterState> state;
  ASSERT_TRUE(dirty.Find("a", &state));
  EXPECT_EQ(CountOf(state), 1u);
  ASSERT_TRUE(dirty.Find("b", &state));
  EXPECT_EQ(CountOf(state), 2u);
  dirty.BeginCheckpoint();
  EXPECT_EQ(dirty.CheckpointEntries().size(), 2u);
  dirty.EndCheckpoint(/*written=*/true);
  EXPECT_FALSE(dirty.Find("a", &state));
}

// Keys on different shards, always changed together: a reader never sees
// the second older than the first.
TEST(DirtyCountersTest, ReadersSeeAllOfAnApplyOrNoneOfIt) {
  DirtyCounters dirty(16);
  std::vector<std::string> keys;
  for (int i = 0; i < 32; ++i) keys.push_back("key-" + std::to_string(i));
  std::atomic<bool> done{false};
  std::atomic<int> torn{0};
  std::thread reader([&] {
    while (!done.load()) {
      std::optional<CounterState> first, last;
      if (!dirty.Find(keys.front(), &first)) continue;
      dirty.Find(keys.back(), &last);
      if (CountOf(last) < CountOf(first)) ++torn;
    }
  });
  for (uint64_t n = 1; n <= 2000; ++n) {
    WriteSet w = Puts(keys, n);
    dirty.Apply({&w});
    if (n % 100 == 0) {
      dirty.BeginCheckpoint();
      dirty.EndCheckpoint(/*written=*/false);
    }
  }
  done = true;
  reader.join();
  EXPECT_EQ(torn.load(), 0);
}

}  // namespace
}  // namespace gatehouse
