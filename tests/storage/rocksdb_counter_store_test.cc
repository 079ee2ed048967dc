#include <rocksdb/db.h>

#include <cstdint>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "service/clock/simulated_clock.h"
#include "service/core/counter_state.h"
#include "service/core/counter_store.h"
#include "service/core/storage_error.h"
#include "service/storage/rocksdb_store.h"
#include "service/storage/store_db.h"
#include "tests/testing/temp_dir.h"

namespace gatehouse {
namespace {

using ::gatehouse::testing::TempDir;

constexpr int64_t kStartMs = 1'700'000'000'000;

CounterState StateExpiringAt(int64_t expires_at_ms, uint64_t count = 1) {
  CounterState s;
  s.bucket_ms = 1000;
  s.buckets = {{kStartMs / 1000 - 5, count}};
  s.expires_at_ms = expires_at_ms;
  return s;
}

class RocksDbCounterStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    Reopen();
  }

  // Closes the store (if open) and opens it again on the same directory.
  void Reopen() {
    store_.reset();
    absl::StatusOr<std::unique_ptr<RocksDbStore>> store =
        OpenRocksDbStore(db_path(), &clock_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }

  std::string db_path() const { return dir_.Sub("db"); }

  void Put(const std::string& key, const CounterState& state) {
    WriteSet writes;
    writes.puts.emplace_back(key, state);
    ASSERT_TRUE(store_->counters().Commit(writes).ok());
  }

  // The stored state, or nullopt; a failed read is a test failure.
  std::optional<CounterState> Get(const std::string& key) {
    absl::StatusOr<std::optional<CounterState>> state =
        store_->counters().Read(key);
    EXPECT_TRUE(state.ok()) << key << ": " << state.status();
    return state.ok() ? *state : std::nullopt;
  }

  uint64_t CounterKeys() {
    absl::StatusOr<uint64_t> n = store_->maintenance().CountCounterKeys();
    EXPECT_TRUE(n.ok()) << n.status();
    return n.ok() ? *n : 0;
  }

  TempDir dir_;
  SimulatedClock clock_{absl::FromUnixMillis(kStartMs)};
  std::unique_ptr<RocksDbStore> store_;
};

TEST_F(RocksDbCounterStoreTest, ReadOfMissingKeyIsNullopt) {
  absl::StatusOr<std::optional<CounterState>> state =
      store_->counters().Read("c-absent");
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_FALSE(state->has_value());
  EXPECT_EQ(CounterKeys(), 0u);
}

TEST_F(RocksDbCounterStoreTest, CommittedStateReadsBackEqual) {
  CounterState state = StateExpiringAt(kStartMs + 60'000, 7);
  state.lockout_until_ms = kStartMs + 900'000;
  state.offences = 2;
  state.last_offence_ms = kStartMs;
  Put("c-alice", state);
  EXPECT_EQ(Get("c-alice"), state);
}

TEST_F(RocksDbCounterStoreTest, CommitAppliesEveryPutAndDeleteOfTheBatch) {
  Put("c-a", StateExpiringAt(kStartMs + 60'000, 1));
  Put("c-b", StateExpiringAt(kStartMs + 60'000, 2));

  WriteSet writes;
  writes.puts.emplace_back("c-b", StateExpiringAt(kStartMs + 60'000, 20));
  writes.puts.emplace_back("c-c", StateExpiringAt(kStartMs + 60'000, 3));
  writes.deletes.push_back("c-a");
  writes.deletes.push_back("c-never-written");
  ASSERT_TRUE(store_->counters().Commit(writes).ok());

  EXPECT_EQ(Get("c-a"), std::nullopt);
  EXPECT_EQ(Get("c-b"), StateExpiringAt(kStartMs + 60'000, 20));
  EXPECT_EQ(Get("c-c"), StateExpiringAt(kStartMs + 60'000, 3));
  EXPECT_EQ(CounterKeys(), 2u);
}

TEST_F(RocksDbCounterStoreTest, EmptyCommitChangesNothing) {
  Put("c-a", StateExpiringAt(kStartMs + 60'000, 4));
  WriteSet empty;
  ASSERT_TRUE(store_->counters().Commit(empty).ok());
  EXPECT_EQ(Get("c-a"), StateExpiringAt(kStartMs + 60'000, 4));
  EXPECT_EQ(CounterKeys(), 1u);
}

TEST_F(RocksDbCounterStoreTest, StateSurvivesClosingAndReopening) {
  Put("c-kept", StateExpiringAt(kStartMs + 60'000, 9));
  Put("c-deleted", StateExpiringAt(kStartMs + 60'000, 1));
  WriteSet del;
  del.deletes.push_back("c-deleted");
  ASSERT_TRUE(store_->counters().Commit(del).ok());

  Reopen();
  EXPECT_EQ(Get("c-kept"), StateExpiringAt(kStartMs + 60'000, 9));
  EXPECT_EQ(Get("c-deleted"), std::nullopt);
  EXPECT_EQ(CounterKeys(), 1u);
}

TEST_F(RocksDbCounterStoreTest, SyncedStoreSurvivesReopening) {
  store_.reset();
  RocksDbStoreOptions options;
  options.sync = true;
  {
    absl::StatusOr<std::unique_ptr<RocksDbStore>> synced =
        OpenRocksDbStore(db_path(), &clock_, options);
    ASSERT_TRUE(synced.ok()) << synced.status();
    WriteSet writes;
    writes.puts.emplace_back("c-synced", StateExpiringAt(kStartMs + 1000, 5));
    ASSERT_TRUE((*synced)->counters().Commit(writes).ok());
  }
  Reopen();
  EXPECT_EQ(Get("c-synced"), StateExpiringAt(kStartMs + 1000, 5));
}

TEST_F(RocksDbCounterStoreTest,
       CompactAllDropsExpiredCountersAndKeepsLiveOnes) {
  Put("c-expires-in-1s", StateExpiringAt(kStartMs + 1'000));
  Put("c-expires-in-2s", StateExpiringAt(kStartMs + 2'000));
  Put("c-expires-in-3s", StateExpiringAt(kStartMs + 3'000));
  Put("c-expires-in-1h", StateExpiringAt(kStartMs + 3'600'000));
  Put("c-expires-in-1d", StateExpiringAt(kStartMs + 86'400'000));

  // Nothing has expired yet: compaction keeps everything.
  ASSERT_TRUE(store_->maintenance().CompactAll().ok());
  EXPECT_EQ(CounterKeys(), 5u);

  clock_.Advance(absl::Seconds(2));  // Exactly at the second expiry.
  // Expired but not yet compacted: still readable (callers check expiry).
  EXPECT_TRUE(Get("c-expires-in-1s").has_value());
  ASSERT_TRUE(store_->maintenance().CompactAll().ok());
  EXPECT_EQ(CounterKeys(), 3u);
  EXPECT_EQ(Get("c-expires-in-1s"), std::nullopt);
  EXPECT_EQ(Get("c-expires-in-2s"), std::nullopt);
  EXPECT_EQ(Get("c-expires-in-3s"), StateExpiringAt(kStartMs + 3'000));
  EXPECT_EQ(Get("c-expires-in-1h"), StateExpiringAt(kStartMs + 3'600'000));

  clock_.Advance(absl::Hours(2));
  ASSERT_TRUE(store_->maintenance().CompactAll().ok());
  EXPECT_EQ(CounterKeys(), 1u);
  EXPECT_EQ(Get("c-expires-in-1d"), StateExpiringAt(kStartMs + 86'400'000));
}

TEST_F(RocksDbCounterStoreTest, ExpiredStatesWrittenBeforeReopenAreDropped) {
  Put("c-old", StateExpiringAt(kStartMs + 1'000));
  Put("c-new", StateExpiringAt(kStartMs + 600'000));
  Reopen();
  clock_.Advance(absl::Minutes(1));
  ASSERT_TRUE(store_->maintenance().CompactAll().ok());
  EXPECT_EQ(CounterKeys(), 1u);
  EXPECT_EQ(Get("c-old"), std::nullopt);
  EXPECT_TRUE(Get("c-new").has_value());
}

TEST_F(RocksDbCounterStoreTest, CompactionLeavesRecordsThatAreNotCounters) {
  // Same expired value under a counter key and under other record kinds.
  const CounterState expired = StateExpiringAt(kStartMs + 1'000);
  Put("c-counter", expired);
  Put("a-audit", expired);
  Put("m-meta", expired);
  clock_.Advance(absl::Hours(1));
  ASSERT_TRUE(store_->maintenance().CompactAll().ok());
  EXPECT_EQ(Get("c-counter"), std::nullopt);
  EXPECT_EQ(Get("a-audit"), expired);
  EXPECT_EQ(Get("m-meta"), expired);
  EXPECT_EQ(CounterKeys(), 0u);
}

TEST_F(RocksDbCounterStoreTest, CountCounterKeysIgnoresOtherRecordKinds) {
  Put("a-before", StateExpiringAt(kStartMs + 60'000));
  Put("c-1", StateExpiringAt(kStartMs + 60'000));
  Put("c-2", StateExpiringAt(kStartMs + 60'000));
  Put("d-after", StateExpiringAt(kStartMs + 60'000));
  EXPECT_EQ(CounterKeys(), 2u);
}

TEST_F(RocksDbCounterStoreTest,
       CorruptValueIsKeptByCompactionAndReadsAsDataLoss) {
  store_.reset();
  {
    // Write a value the codec cannot decode, straight into RocksDB.
    rocksdb::Options options;
    std::vector<std::string> names;
    ASSERT_TRUE(
        rocksdb::DB::ListColumnFamilies(options, db_path(), &names).ok());
    std::vector<rocksdb::ColumnFamilyDescriptor> families;
    for (const std::string& name : names) {
      families.emplace_back(name, rocksdb::ColumnFamilyOptions());
    }
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(
        rocksdb::DB::Open(options, db_path(), families, &handles, &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    ASSERT_TRUE(
        db->Put(rocksdb::WriteOptions(), "c-corrupt", "\x07garbage").ok());
    for (rocksdb::ColumnFamilyHandle* h : handles) {
      ASSERT_TRUE(db->DestroyColumnFamilyHandle(h).ok());
    }
    ASSERT_TRUE(db->Close().ok());
  }
  Reopen();
  clock_.Advance(absl::Hours(24 * 365));
  ASSERT_TRUE(store_->maintenance().CompactAll().ok());
  EXPECT_EQ(CounterKeys(), 1u);
  absl::StatusOr<std::optional<CounterState>> state =
      store_->counters().Read("c-corrupt");
  EXPECT_EQ(state.status().code(), absl::StatusCode::kDataLoss)
      << state.status();
}

TEST_F(RocksDbCounterStoreTest, SecondOpenOfSameDirectoryIsUnavailable) {
  absl::StatusOr<std::unique_ptr<RocksDbStore>> second =
      OpenRocksDbStore(db_path(), &clock_);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(absl::StrContains(second.status().message(), db_path()))
      << second.status();
  // The first store is unaffected.
  Put("c-still-works", StateExpiringAt(kStartMs + 1'000));
  EXPECT_EQ(CounterKeys(), 1u);
}

TEST_F(RocksDbCounterStoreTest, OpenOnARegularFileIsUnavailable) {
  const std::string file = dir_.Sub("not-a-directory");
  std::ofstream(file) << "plain file";
  absl::StatusOr<std::unique_ptr<RocksDbStore>> store =
      OpenRocksDbStore(file, &clock_);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(absl::StrContains(store.status().message(), file))
      << store.status();
}

TEST(FromRocksTest, MessageIsWhatThenRocksDbsReasonAndKindIsData) {
  const absl::Status s = FromRocks(rocksdb::Status::IOError("No space left"),
                                   StorageErrorKind::kRead, "read counter");
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(s.message(), "read counter: IO error: No space left");
  EXPECT_EQ(StorageErrorKindOf(s), StorageErrorKind::kRead);
  EXPECT_TRUE(
      FromRocks(rocksdb::Status::OK(), StorageErrorKind::kWrite, "x").ok());
}

}  // namespace
}  // namespace gatehouse
