#include "service/core/in_memory_counter_store.h"

#include <optional>
#include <string>

#include "gtest/gtest.h"
#include "service/core/counter_state.h"

namespace gatehouse {
namespace {

CounterState StateWith(uint64_t count) {
  CounterState s;
  s.bucket_ms = 1'000;
  s.buckets = {{42, count}};
  s.expires_at_ms = 99'000;
  return s;
}

std::optional<CounterState> ReadOrDie(InMemoryCounterStore& store,
                                      const std::string& key) {
  absl::StatusOr<std::optional<CounterState>> s = store.Read(key);
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? *s : std::nullopt;
}

TEST(InMemoryCounterStoreTest, ReadsNothingForAnUnknownKey) {
  InMemoryCounterStore store;
  EXPECT_FALSE(ReadOrDie(store, "c\x01p").has_value());
  EXPECT_EQ(store.size(), 0u);
}

TEST(InMemoryCounterStoreTest, CommitAppliesPutsAndDeletes) {
  InMemoryCounterStore store;
  WriteSet first;
  first.puts.emplace_back("a", StateWith(1));
  first.puts.emplace_back("b", StateWith(2));
  ASSERT_TRUE(store.Commit(first).ok());
  EXPECT_EQ(store.size(), 2u);
  EXPECT_EQ(ReadOrDie(store, "a"), StateWith(1));
  EXPECT_EQ(ReadOrDie(store, "b"), StateWith(2));

  WriteSet second;
  second.puts.emplace_back("a", StateWith(5));
  second.deletes.push_back("b");
  second.deletes.push_back("never-written");
  ASSERT_TRUE(store.Commit(second).ok());
  EXPECT_EQ(store.size(), 1u);
  EXPECT_EQ(ReadOrDie(store, "a"), StateWith(5));
  EXPECT_FALSE(ReadOrDie(store, "b").has_value());
}

// Keys are bytes: embedded NULs and high bytes are distinct keys.
TEST(InMemoryCounterStoreTest, KeysAreComparedAsBytes) {
  InMemoryCounterStore store;
  WriteSet w;
  w.puts.emplace_back(std::string("k\0a", 3), StateWith(1));
  w.puts.emplace_back(std::string("k\0b", 3), StateWith(2));
  w.puts.emplace_back("k\xff", StateWith(3));
  ASSERT_TRUE(store.Commit(w).ok());
  EXPECT_EQ(store.size(), 3u);
  EXPECT_EQ(ReadOrDie(store, std::string("k\0b", 3)), StateWith(2));
  EXPECT_FALSE(ReadOrDie(store, "k").has_value());
}

TEST(InMemoryCounterStoreTest, EmptyWriteSetChangesNothing) {
  InMemoryCounterStore store;
  WriteSet w;
  EXPECT_TRUE(w.empty());
  ASSERT_TRUE(store.Commit(w).ok());
  EXPECT_EQ(store.size(), 0u);
}

}  // namespace
}  // namespace gatehouse
