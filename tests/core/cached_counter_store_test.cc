// CachedCounterStore: over an in-memory store (and over the fault-injecting
// wrapper, whose commits can fail) it keeps the CounterStore and AuditLog
// contracts (the typed suites); a hot key is read from the inner store once;
// the table stays within its capacity by evicting the least recently used
// keys; a failed commit or read leaves nothing in memory; a read-through
// that raced a commit does not bring back the state the commit replaced; and
// a read of a key being committed waits for the commit, so no reader sees
// half of one.

#include "service/core/cached_counter_store.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"
#include "service/core/in_memory_counter_store.h"
#include "tests/testing/audit_log_contract.h"
#include "tests/testing/counter_store_contract.h"
#include "tests/testing/fault_injecting_counter_store.h"
#include "tests/testing/store_contract_env.h"

namespace gatehouse::testing {
namespace {

// The cache over the fault-injecting wrapper over an in-memory store; broken
// storage is an injected UNAVAILABLE on every Commit of the inner store.
class CachedInMemoryEnv {
 public:
  static constexpr bool kDurable = false;
  static constexpr bool kCanFail = true;

  CounterStore& store() { return cache_; }
  AuditLog& log() { return memory_; }
  void DropAuditBefore(uint64_t sequence) { memory_.DropAuditBefore(sequence); }
  void BreakStorage() {
    faults_.FailCommits(absl::UnavailableError("injected"));
  }
  void RepairStorage() { faults_.ClearFaults(); }

 private:
  InMemoryCounterStore memory_;
  FaultInjectingCounterStore faults_{&memory_};
  CachedCounterStore cache_{&faults_, CounterCacheOptions{}};
};

INSTANTIATE_TYPED_TEST_SUITE_P(Cached, CounterStoreContractTest,
                               CachedInMemoryEnv);
INSTANTIATE_TYPED_TEST_SUITE_P(Cached, FailingCounterStoreContractTest,
                               CachedInMemoryEnv);
INSTANTIATE_TYPED_TEST_SUITE_P(Cached, AuditLogContractTest, CachedInMemoryEnv);

WriteSet PutOf(const std::string& key, uint64_t n) {
  WriteSet writes;
  writes.puts.emplace_back(key, ContractState(n));
  return writes;
}

std::string KeyOf(int i) { return "policy/subject-" + std::to_string(i); }

class CachedCounterStoreTest : public ::testing::Test {
 protected:
  // The state the cache reads for `key`; a failed read is a test failure.
  std::optional<CounterState> ReadState(CounterStore& store,
                                        const std::string& key) {
    absl::StatusOr<std::optional<CounterState>> state = store.Read(key);
    EXPECT_TRUE(state.ok()) << key << ": " << state.status();
    return state.ok() ? *state : std::nullopt;
  }

  // A one-shard cache in front of inner_ with room for three entries,
  // holding keys 0, 1 and 2, committed in that order.
  std::unique_ptr<CachedCounterStore> CacheOfThreeHoldingKeys0To2() {
    CounterCacheOptions options;
    options.capacity_bytes =
        3 * CachedCounterStore::ChargeOf(KeyOf(0), ContractState(0));
    options.shards = 1;
    auto cache = std::make_unique<CachedCounterStore>(&inner_, options);
    for (int i = 0; i < 3; ++i) {
      WriteSet writes = PutOf(KeyOf(i), i);
      EXPECT_TRUE(cache->Commit(writes).ok());
    }
    return cache;
  }

  InMemoryCounterStore memory_;
  FaultInjectingCounterStore inner_{&memory_};
};

TEST_F(CachedCounterStoreTest, HotKeyIsReadFromTheInnerStoreOnce) {
  WriteSet before = PutOf("hot", 1);
  ASSERT_TRUE(memory_.Commit(before).ok());
  CachedCounterStore cache(&inner_, CounterCacheOptions{});
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(ReadState(cache, "hot"), ContractState(1));
    EXPECT_EQ(ReadState(cache, "cold"), std::nullopt);
  }
  EXPECT_EQ(inner_.reads(), 2);
  EXPECT_EQ(cache.misses(), 2u);
  EXPECT_EQ(cache.hits(), 98u);
}

TEST_F(CachedCounterStoreTest, CommittedPutsAndDeletesAreReadWithoutTheStore) {
  CachedCounterStore cache(&inner_, CounterCacheOptions{});
  WriteSet put = PutOf("a", 1);
  put.puts.emplace_back("b", ContractState(2));
  ASSERT_TRUE(cache.Commit(put).ok());
  WriteSet reset;
  reset.deletes = {"b"};
  ASSERT_TRUE(cache.Commit(reset).ok());
  EXPECT_EQ(ReadState(cache, "a"), ContractState(1));
  EXPECT_EQ(ReadState(cache, "b"), std::nullopt);
  EXPECT_EQ(inner_.reads(), 0);
  EXPECT_EQ(ReadState(inner_, "b"), std::nullopt);
}

TEST_F(CachedCounterStoreTest, StaysWithinItsCapacityWhateverTheKeyCount) {
  CounterCacheOptions options;
  options.capacity_bytes = 64 << 10;
  options.shards = 4;
  CachedCounterStore cache(&inner_, options);
  constexpr int kKeys = 5000;
  for (int i = 0; i < kKeys; ++i) {
    WriteSet writes = PutOf(KeyOf(i), i);
    ASSERT_TRUE(cache.Commit(writes).ok());
    ASSERT_LE(cache.charged_bytes(), options.capacity_bytes) << "after " << i;
  }
  // Keys "...-0" to "...-4999": the first is the smallest entry, the last
  // the largest. Each shard is full to within one entry.
  const size_t smallest =
      CachedCounterStore::ChargeOf(KeyOf(0), ContractState(0));
  const size_t largest =
      CachedCounterStore::ChargeOf(KeyOf(kKeys - 1), ContractState(0));
  EXPECT_LE(cache.entries(), options.capacity_bytes / smallest);
  EXPECT_GE(cache.entries(), options.capacity_bytes / largest - options.shards);
  // Evicted keys read through, with what was committed.
  for (int i = 0; i < kKeys; ++i) {
    ASSERT_EQ(ReadState(cache, KeyOf(i)), ContractState(i)) << KeyOf(i);
  }
  EXPECT_GE(inner_.reads(), kKeys - static_cast<int>(cache.entries()));
  EXPECT_LE(cache.charged_bytes(), options.capacity_bytes);
}

TEST_F(CachedCounterStoreTest, EvictsTheLeastRecentlyUsedKey) {
  std::unique_ptr<CachedCounterStore> owned = CacheOfThreeHoldingKeys0To2();
  CachedCounterStore& cache = *owned;
  EXPECT_EQ(ReadState(cache, KeyOf(0)), ContractState(0));  // 1 is now oldest.
  WriteSet fourth = PutOf(KeyOf(3), 3);
  ASSERT_TRUE(cache.Commit(fourth).ok());
  EXPECT_EQ(cache.entries(), 3u);
  ASSERT_EQ(inner_.reads(), 0);
  EXPECT_EQ(ReadState(cache, KeyOf(0)), ContractState(0));
  EXPECT_EQ(ReadState(cache, KeyOf(2)), ContractState(2));
  EXPECT_EQ(ReadState(cache, KeyOf(3)), ContractState(3));
  EXPECT_EQ(inner_.reads(), 0);
  EXPECT_EQ(ReadState(cache, KeyOf(1)), ContractState(1));
  EXPECT_EQ(inner_.reads(), 1);
}

// A commit marks its key used, as a read does, though the entry stays where
// it was: the oldest key, rewritten, outlives the keys put after it.
TEST_F(CachedCounterStoreTest, RewrittenOldestKeyOutlivesUnusedNewerOnes) {
  std::unique_ptr<CachedCounterStore> owned = CacheOfThreeHoldingKeys0To2();
  CachedCounterStore& cache = *owned;
  WriteSet rewrite = PutOf(KeyOf(0), 10);
  ASSERT_TRUE(cache.Commit(rewrite).ok());
  for (int i = 3; i < 5; ++i) {
    WriteSet writes = PutOf(KeyOf(i), i);
    ASSERT_TRUE(cache.Commit(writes).ok());
  }
  EXPECT_EQ(cache.entries(), 3u);
  EXPECT_EQ(ReadState(cache, KeyOf(0)), ContractState(10));
  EXPECT_EQ(ReadState(cache, KeyOf(3)), ContractState(3));
  EXPECT_EQ(ReadState(cache, KeyOf(4)), ContractState(4));
  EXPECT_EQ(inner_.reads(), 0);
  EXPECT_EQ(ReadState(cache, KeyOf(1)), ContractState(1));
  EXPECT_EQ(ReadState(cache, KeyOf(2)), ContractState(2));
  EXPECT_EQ(inner_.reads(), 2);
}

TEST_F(CachedCounterStoreTest, RewrittenKeyKeepsOneEntryChargedForItsState) {
  CachedCounterStore cache(&inner_, CounterCacheOptions{});
  CounterState one_bucket = ContractState(5);
  one_bucket.buckets.resize(1);
  for (const CounterState& state :
       {ContractState(1), one_bucket, ContractState(2), CounterState{}}) {
    WriteSet writes;
    writes.puts.emplace_back(KeyOf(7), state);
    ASSERT_TRUE(cache.Commit(writes).ok());
    EXPECT_EQ(ReadState(cache, KeyOf(7)), state);
    EXPECT_EQ(cache.entries(), 1u);
    EXPECT_EQ(cache.charged_bytes(),
              CachedCounterStore::ChargeOf(KeyOf(7), state));
  }
  WriteSet reset;
  reset.deletes = {KeyOf(7)};
  ASSERT_TRUE(cache.Commit(reset).ok());
  EXPECT_EQ(ReadState(cache, KeyOf(7)), std::nullopt);
  EXPECT_EQ(cache.charged_bytes(),
            CachedCounterStore::ChargeOf(KeyOf(7), std::nullopt));
  EXPECT_EQ(inner_.reads(), 0);
}

TEST_F(CachedCounterStoreTest, FailedCommitLeavesMemoryEqualToStorage) {
  CachedCounterStore cache(&inner_, CounterCacheOptions{});
  WriteSet before = PutOf("kept", 1);
  before.puts.emplace_back("deleted", ContractState(2));
  ASSERT_TRUE(cache.Commit(before).ok());
  inner_.FailCommits(absl::UnavailableError("disk full"));
  WriteSet failed = PutOf("kept", 10);
  failed.puts.emplace_back("new", ContractState(11));
  failed.deletes = {"deleted"};
  EXPECT_EQ(cache.Commit(failed).code(), absl::StatusCode::kUnavailable);
  for (const std::string key : {"kept", "deleted", "new"}) {
    EXPECT_EQ(ReadState(cache, key), ReadState(memory_, key)) << key;
  }
  EXPECT_EQ(ReadState(cache, "kept"), ContractState(1));
  EXPECT_EQ(ReadState(cache, "new"), std::nullopt);
}

TEST_F(CachedCounterStoreTest, FailedReadIsNotCached) {
  WriteSet before = PutOf("k", 1);
  ASSERT_TRUE(memory_.Commit(before).ok());
  CachedCounterStore cache(&inner_, CounterCacheOptions{});
  inner_.FailReads(absl::UnavailableError("read failed"), 1);
  EXPECT_EQ(cache.Read("k").status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(cache.entries(), 0u);
  EXPECT_EQ(ReadState(cache, "k"), ContractState(1));
  EXPECT_EQ(inner_.reads(), 2);
}

// Forwards to an in-memory store. While its read gate is closed, a Read
// that has read holds its answer until the gate opens; while its commit
// gate is closed, a Commit that has been applied holds its return.
class GatedStore final : public CounterStore {
 public:
  absl::StatusOr<std::optional<CounterState>> Read(
      absl::string_view key) override {
    absl::StatusOr<std::optional<CounterState>> state = memory_.Read(key);
    Hold(reads_open_, reads_held_);
    return state;
  }
  absl::Status Commit(WriteSet& writes) override {
    absl::Status status = memory_.Commit(writes);
    Hold(commits_open_, commits_held_);
    return status;
  }
  absl::StatusOr<LockoutPage> ListLockouts(const LockoutQuery& query) override {
    return memory_.ListLockouts(query);
  }
  void SetReadsOpen(bool open) {
    absl::MutexLock lock(&mu_);
    reads_open_ = open;
  }
  void SetCommitsOpen(bool open) {
    absl::MutexLock lock(&mu_);
    commits_open_ = open;
  }
  void AwaitReadHeld() { AwaitHeld(reads_held_); }
  void AwaitCommitHeld() { AwaitHeld(commits_held_); }

 private:
  void Hold(bool& open, int& held) {
    absl::MutexLock lock(&mu_);
    if (open) return;
    ++held;
    mu_.Await(absl::Condition(&open));
  }
  void AwaitHeld(int& held) {
    absl::MutexLock lock(&mu_);
    auto some = [&held]() { return held > 0; };
    mu_.Await(absl::Condition(&some));
  }

  InMemoryCounterStore memory_;
  absl::Mutex mu_;
  bool reads_open_ ABSL_GUARDED_BY(mu_) = true;
  bool commits_open_ ABSL_GUARDED_BY(mu_) = true;
  int reads_held_ ABSL_GUARDED_BY(mu_) = 0;
  int commits_held_ ABSL_GUARDED_BY(mu_) = 0;
};

// A lock-free reader (Peek) misses, reads the old state, and is overtaken
// by a commit of a new one: it may answer with the old state, which was
// current when it read, but must not leave it in the table.
TEST_F(CachedCounterStoreTest, ReadOvertakenByACommitDoesNotCacheTheOldState) {
  GatedStore inner;
  WriteSet old_state = PutOf("k", 1);
  ASSERT_TRUE(inner.Commit(old_state).ok());
  CachedCounterStore cache(&inner, CounterCacheOptions{});
  inner.SetReadsOpen(false);
  std::optional<CounterState> peeked;
  std::thread peek([&] { peeked = ReadState(cache, "k"); });
  inner.AwaitReadHeld();
  WriteSet new_state = PutOf("k", 2);
  ASSERT_TRUE(cache.Commit(new_state).ok());
  inner.SetReadsOpen(true);
  peek.join();
  EXPECT_EQ(peeked, ContractState(1));
  EXPECT_EQ(ReadState(cache, "k"), ContractState(2));
}

// A commit of {a, b} has reached the inner store but not yet the table,
// where b is cached: a reader of a (a miss) must not answer from the inner
// store, or it would see the new a and then the old b. It waits for the
// commit instead.
TEST_F(CachedCounterStoreTest, ReadOfAKeyBeingCommittedWaitsForTheCommit) {
  GatedStore inner;
  WriteSet old_states = PutOf("a", 1);
  old_states.puts.emplace_back("b", ContractState(1));
  ASSERT_TRUE(inner.Commit(old_states).ok());
  CachedCounterStore cache(&inner, CounterCacheOptions{});
  ASSERT_EQ(ReadState(cache, "b"), ContractState(1));
  inner.SetCommitsOpen(false);
  std::thread commit([&] {
    WriteSet new_states = PutOf("a", 2);
    new_states.puts.emplace_back("b", ContractState(2));
    EXPECT_TRUE(cache.Commit(new_states).ok());
  });
  inner.AwaitCommitHeld();
  std::atomic<bool> read{false};
  std::optional<CounterState> a, b;
  std::thread reader([&] {
    a = ReadState(cache, "a");
    b = ReadState(cache, "b");
    read = true;
  });
  while (!read.load() && cache.waits() == 0) std::this_thread::yield();
  inner.SetCommitsOpen(true);
  reader.join();
  commit.join();
  EXPECT_EQ(a, ContractState(2));
  EXPECT_EQ(b, ContractState(2));
}

TEST_F(CachedCounterStoreTest, StateLargerThanAShardIsNotHeldButReadsFresh) {
  CounterCacheOptions options;
  options.capacity_bytes = 64;  // Less than any entry.
  options.shards = 1;
  CachedCounterStore cache(&inner_, options);
  WriteSet first = PutOf("k", 1);
  ASSERT_TRUE(cache.Commit(first).ok());
  WriteSet second = PutOf("k", 2);
  ASSERT_TRUE(cache.Commit(second).ok());
  EXPECT_EQ(cache.entries(), 0u);
  EXPECT_EQ(cache.charged_bytes(), 0u);
  EXPECT_EQ(ReadState(cache, "k"), ContractState(2));
}

}  // namespace
}  // namespace gatehouse::testing
