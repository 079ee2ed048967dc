// The lazy checkpoints of counter states on a real RocksDB in a temp dir:
// reads before a checkpoint, what a checkpoint writes and deletes, and the
// replay on opening after a crash (a child process that exits without
// closing the store).
#include "service/storage/counter_checkpointer.h"

#include <rocksdb/db.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "service/clock/simulated_clock.h"
#include "service/core/counter_state.h"
#include "service/core/counter_store.h"
#include "service/storage/rocksdb_store.h"
#include "service/storage/store_layout.h"
#include "service/storage/value_codec.h"
#include "tests/testing/temp_dir.h"

namespace gatehouse {
namespace {

using ::gatehouse::testing::TempDir;

CounterState Count(uint64_t n) {
  CounterState s;
  s.bucket_ms = 1000;
  s.buckets = {{1'700'000'000, n}};
  s.expires_at_ms = 4'000'000'000'000;
  return s;
}

uint64_t CountOf(const std::optional<CounterState>& s) {
  return s && !s->buckets.empty() ? s->buckets[0].count : 0;
}

class CounterCheckpointerTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(); }

  // Checkpoints only when asked (and on closing).
  void Open() {
    RocksDbStoreOptions options;
    options.checkpoint_interval = absl::ZeroDuration();
    absl::StatusOr<std::unique_ptr<RocksDbStore>> store =
        OpenRocksDbStore(path(), &clock_, options);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }

  std::string path() const { return dir_.Sub("db"); }

  void Commit(WriteSet writes) {
    ASSERT_TRUE(store_->counters().Commit(writes).ok());
  }
  void Put(const std::string& key, uint64_t n, bool with_event = true) {
    WriteSet w;
    w.puts.emplace_back(key, Count(n));
    if (with_event) w.audit.emplace_back();
    Commit(std::move(w));
  }

  std::optional<CounterState> Read(const std::string& key) {
    absl::StatusOr<std::optional<CounterState>> s =
        store_->counters().Read(key);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? *s : std::nullopt;
  }

  // What the counters family itself holds under `key` (nullopt when
  // nothing), bypassing the dirty states.
  std::optional<CounterState> Stored(const std::string& key) {
    const StoreDb* db = StoreDbOf();
    std::string value;
    rocksdb::Status s =
        db->db()->Get(rocksdb::ReadOptions(), db->counters(), key, &value);
    if (s.IsNotFound()) return std::nullopt;
    EXPECT_TRUE(s.ok()) << s.ToString();
    absl::StatusOr<CounterState> state = DecodeCounterState(value);
    EXPECT_TRUE(state.ok()) << state.status();
    return state.ok() ? std::optional<CounterState>(*state) : std::nullopt;
  }

  // Redo records left in the redo family.
  int RedoRecords() {
    const StoreDb* db = StoreDbOf();
    std::unique_ptr<rocksdb::Iterator> it(
        db->db()->NewIterator(rocksdb::ReadOptions(), db->redo()));
    int n = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next()) ++n;
    EXPECT_TRUE(it->status().ok());
    return n;
  }

  std::string Mark() {
    const StoreDb* db = StoreDbOf();
    std::string value;
    rocksdb::Status s = db->db()->Get(rocksdb::ReadOptions(), db->counters(),
                                      kRedoCheckpointKey, &value);
    return s.ok() ? absl::StrCat(ParseSequenceKey(value)) : "none";
  }

  const StoreDb* StoreDbOf() { return store_->db(); }

  // Runs `body` in a child process that then exits at once, as a crash
  // would: no destructor runs, so no checkpoint on closing. The store must
  // be closed here first (RocksDB's lock is per process); it is opened
  // again afterwards when `reopen`.
  void InCrashingChild(const std::function<void(RocksDbStore&)>& body,
                       bool reopen = true) {
    store_.reset();
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      RocksDbStoreOptions options;
      options.checkpoint_interval = absl::ZeroDuration();
      absl::StatusOr<std::unique_ptr<RocksDbStore>> store =
          OpenRocksDbStore(path(), &clock_, options);
      if (!store.ok()) _exit(2);
      body(**store);
      _exit(0);
    }
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    ASSERT_EQ(WEXITSTATUS(status), 0);
    if (reopen) Open();
  }

  TempDir dir_;
  SimulatedClock clock_{absl::FromUnixMillis(1'700'000'000'000)};
  std::unique_ptr<RocksDbStore> store_;
};

TEST_F(CounterCheckpointerTest, CommittedStatesAreReadBeforeAnyCheckpoint) {
  Put("c-a", 1);
  Put("c-b", 1, /*with_event=*/false);
  EXPECT_EQ(CountOf(Read("c-a")), 1u);
  EXPECT_EQ(CountOf(Read("c-b")), 1u);
  EXPECT_FALSE(Stored("c-a").has_value()) << "not in the counters family yet";
  EXPECT_EQ(RedoRecords(), 2);
  EXPECT_EQ(Mark(), "none");
}

TEST_F(CounterCheckpointerTest, ACheckpointWritesEachKeyOnceAndDeletesTheRedo) {
  for (uint64_t n = 1; n <= 5; ++n) Put("c-a", n);
  Put("c-b", 7);
  WriteSet reset;
  reset.deletes = {"c-gone"};
  Put("c-gone", 1);
  Commit(std::move(reset));
  ASSERT_TRUE(store_->checkpointer().Checkpoint().ok());
  EXPECT_EQ(store_->checkpointer().keys_written(), 3u);
  EXPECT_EQ(CountOf(Stored("c-a")), 5u);
  EXPECT_EQ(CountOf(Stored("c-b")), 7u);
  EXPECT_FALSE(Stored("c-gone").has_value());
  EXPECT_FALSE(Read("c-gone").has_value());
  EXPECT_EQ(RedoRecords(), 0);
  EXPECT_EQ(Mark(), "8");
  // Nothing dirty: a checkpoint writes nothing.
  ASSERT_TRUE(store_->checkpointer().Checkpoint().ok());
  EXPECT_EQ(store_->checkpointer().checkpoints(), 1u);
  // Later changes are above the mark.
  Put("c-a", 6);
  EXPECT_EQ(RedoRecords(), 1);
  EXPECT_EQ(CountOf(Read("c-a")), 6u);
  EXPECT_EQ(CountOf(Stored("c-a")), 5u);
}

TEST_F(CounterCheckpointerTest, ACheckpointOfManyKeysWritesThemAll) {
  WriteSet w;
  for (int i = 0; i < 2000; ++i) {
    w.puts.emplace_back(absl::StrCat("c-", i), Count(i + 1));
  }
  w.audit.emplace_back();
  Commit(std::move(w));
  ASSERT_TRUE(store_->checkpointer().Checkpoint().ok());
  for (int i = 0; i < 2000; i += 97) {
    EXPECT_EQ(CountOf(Stored(absl::StrCat("c-", i))), uint64_t(i + 1)) << i;
  }
  EXPECT_EQ(RedoRecords(), 0);
  absl::StatusOr<uint64_t> keys = store_->maintenance().CountCounterKeys();
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ(*keys, 2000u);
}

TEST_F(CounterCheckpointerTest, ClosingCheckpoints) {
  Put("c-a", 3);
  store_.reset();
  Open();
  EXPECT_EQ(CountOf(Stored("c-a")), 3u);
  EXPECT_EQ(RedoRecords(), 0);
}

TEST_F(CounterCheckpointerTest,
       ACrashBeforeAnyCheckpointLosesNothingCommitted) {
  Put("c-kept", 1);
  ASSERT_TRUE(store_->checkpointer().Checkpoint().ok());
  InCrashingChild([](RocksDbStore& store) {
    for (uint64_t n = 2; n <= 4; ++n) {
      WriteSet w;
      w.puts.emplace_back("c-kept", Count(n));
      w.audit.emplace_back();
      if (!store.counters().Commit(w).ok()) _exit(3);
    }
    WriteSet w;
    w.puts.emplace_back("c-new", Count(9));
    w.deletes = {"c-reset"};
    if (!store.counters().Commit(w).ok()) _exit(3);
  });
  EXPECT_EQ(CountOf(Read("c-kept")), 4u);
  EXPECT_EQ(CountOf(Read("c-new")), 9u);
  EXPECT_FALSE(Read("c-reset").has_value());
  // The replay moved them into the counters family.
  EXPECT_EQ(CountOf(Stored("c-kept")), 4u);
  EXPECT_EQ(RedoRecords(), 0);
  EXPECT_EQ(Mark(), "5");
  // And the next commits continue the redo sequence.
  Put("c-kept", 5);
  ASSERT_TRUE(store_->checkpointer().Checkpoint().ok());
  EXPECT_EQ(Mark(), "6");
}

TEST_F(CounterCheckpointerTest,
       ACrashAfterACheckpointReplaysOnlyWhatCameAfter) {
  InCrashingChild([](RocksDbStore& store) {
    WriteSet w;
    w.puts.emplace_back("c-a", Count(1));
    w.puts.emplace_back("c-b", Count(1));
    if (!store.counters().Commit(w).ok()) _exit(3);
    if (!store.checkpointer().Checkpoint().ok()) _exit(4);
    WriteSet later;
    later.puts.emplace_back("c-b", Count(2));
    if (!store.counters().Commit(later).ok()) _exit(3);
  });
  EXPECT_EQ(CountOf(Stored("c-a")), 1u);
  EXPECT_EQ(CountOf(Stored("c-b")), 2u);
  EXPECT_EQ(Mark(), "2");
}

TEST_F(CounterCheckpointerTest, AnUndecodableRedoRecordFailsOpeningNamingIt) {
  InCrashingChild(
      [](RocksDbStore& store) {
        const StoreDb* db = store.db();
        if (!db->db()
                 ->Put(rocksdb::WriteOptions(), db->redo(), SequenceKey(1),
                       "\x07garbage")
                 .ok()) {
          _exit(3);
        }
      },
      /*reopen=*/false);
  absl::StatusOr<std::unique_ptr<RocksDbStore>> store =
      OpenRocksDbStore(path(), &clock_);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(absl::StrContains(store.status().message(), "redo record 1"))
      << store.status();
}

TEST_F(CounterCheckpointerTest, TheBackgroundThreadCheckpointsAtItsInterval) {
  store_.reset();
  RocksDbStoreOptions options;
  options.checkpoint_interval = absl::Milliseconds(20);
  absl::StatusOr<std::unique_ptr<RocksDbStore>> store =
      OpenRocksDbStore(path(), &clock_, options);
  ASSERT_TRUE(store.ok()) << store.status();
  store_ = *std::move(store);
  Put("c-a", 1);
  for (int i = 0; i < 500 && !Stored("c-a").has_value(); ++i) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_EQ(CountOf(Stored("c-a")), 1u);
  EXPECT_GE(store_->checkpointer().checkpoints(), 1u);
}

TEST_F(CounterCheckpointerTest, TooManyDirtyKeysCheckpointBeforeTheInterval) {
  store_.reset();
  RocksDbStoreOptions options;
  options.checkpoint_interval = absl::Hours(1);
  options.checkpoint_max_dirty_keys = 10;
  absl::StatusOr<std::unique_ptr<RocksDbStore>> store =
      OpenRocksDbStore(path(), &clock_, options);
  ASSERT_TRUE(store.ok()) << store.status();
  store_ = *std::move(store);
  WriteSet w;
  for (int i = 0; i < 10; ++i) {
    w.puts.emplace_back(absl::StrCat("c-", i), Count(1));
  }
  Commit(std::move(w));
  for (int i = 0; i < 500 && store_->checkpointer().checkpoints() == 0; ++i) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_EQ(store_->checkpointer().checkpoints(), 1u);
  EXPECT_EQ(CountOf(Stored("c-9")), 1u);
}

// Writers each own their keys (the Limiter serialises the commits of a
// key), readers read them all, and checkpoints run back to back: a reader
// never sees a key's count go backwards, and after reopening every key
// holds its last count.
TEST_F(CounterCheckpointerTest, ConcurrentCommitsReadsAndCheckpointsAgree) {
  constexpr int kWriters = 3, kKeysPerWriter = 20, kRounds = 60;
  std::atomic<bool> done{false};
  std::atomic<int> backwards{0}, failures{0};
  std::thread checkpoints([&] {
    while (!done.load()) {
      if (!store_->checkpointer().Checkpoint().ok()) ++failures;
    }
  });
  std::thread reader([&] {
    std::vector<uint64_t> seen(kWriters * kKeysPerWriter, 0);
    while (!done.load()) {
      for (size_t k = 0; k < seen.size(); ++k) {
        absl::StatusOr<std::optional<CounterState>> s =
            store_->counters().Read(absl::StrCat("c-", k));
        if (!s.ok()) {
          ++failures;
          continue;
        }
        const uint64_t n = CountOf(*s);
        if (n < seen[k]) ++backwards;
        seen[k] = n;
      }
    }
  });
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      for (uint64_t round = 1; round <= kRounds; ++round) {
        WriteSet writes;
        for (int i = 0; i < kKeysPerWriter; ++i) {
          writes.puts.emplace_back(absl::StrCat("c-", w * kKeysPerWriter + i),
                                   Count(round));
        }
        if (round % 2 == 0) writes.audit.emplace_back();
        if (!store_->counters().Commit(writes).ok()) ++failures;
      }
    });
  }
  for (std::thread& t : writers) t.join();
  done = true;
  checkpoints.join();
  reader.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(backwards.load(), 0);
  store_.reset();
  Open();
  for (int k = 0; k < kWriters * kKeysPerWriter; ++k) {
    EXPECT_EQ(CountOf(Stored(absl::StrCat("c-", k))), uint64_t{kRounds}) << k;
  }
  EXPECT_EQ(RedoRecords(), 0);
}

}  // namespace
}  // namespace gatehouse
