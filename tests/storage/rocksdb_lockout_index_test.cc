// The lockout index of the RocksDB store beyond the CounterStore contract:
// its compaction filter, what compaction drops, the bound on passing over
// ended entries, corrupt entries, and data directories from before it.

#include <rocksdb/db.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "service/clock/simulated_clock.h"
#include "service/core/counter_state.h"
#include "service/core/counter_store.h"
#include "service/core/lockout_index.h"
#include "service/core/policy.h"
#include "service/core/subject_key.h"
#include "service/storage/lockout_codec.h"
#include "service/storage/lockout_compaction_filter.h"
#include "service/storage/rocksdb_store.h"
#include "service/storage/store_layout.h"
#include "tests/testing/temp_dir.h"

namespace gatehouse {
namespace {

using ::gatehouse::testing::TempDir;

constexpr int64_t kNowMs = 1'700'000'000'000;

LockoutEntry Entry(const std::string& policy, int n, int64_t locked_at_ms,
                   int64_t locked_until_ms) {
  LockoutEntry e;
  e.policy = policy;
  e.storage_key = "c" + policy + "/" + std::to_string(n);
  e.locked_at_ms = locked_at_ms;
  e.locked_until_ms = locked_until_ms;
  e.offences = 1;
  e.key = {{"ip", "192.0.2." + std::to_string(n % 256)}};
  return e;
}

LockoutChange Put(const LockoutEntry& e) {
  return LockoutChange{LockoutChange::Kind::kPut, e};
}

std::vector<std::string> Keys(const LockoutPage& page) {
  std::vector<std::string> keys;
  for (const LockoutEntry& e : page.entries) keys.push_back(e.storage_key);
  return keys;
}

class LockoutCompactionFilterTest : public ::testing::Test {
 protected:
  bool Drops(int64_t locked_until_ms) {
    return Drops(EncodeLockoutEntry(Entry("p", 1, 1, locked_until_ms)));
  }
  bool Drops(const std::string& value) {
    std::string new_value;
    bool changed = false;
    const bool drop = filter_.Filter(
        1, rocksdb::Slice("akey"), rocksdb::Slice(value), &new_value, &changed);
    EXPECT_FALSE(changed);
    return drop;
  }

  SimulatedClock clock_{absl::FromUnixMillis(kNowMs)};
  LockoutCompactionFilter filter_{&clock_};
};

TEST_F(LockoutCompactionFilterTest, DropsEntriesWhoseLockoutHasEnded) {
  EXPECT_TRUE(Drops(kNowMs - 1));
  EXPECT_TRUE(Drops(kNowMs));
  EXPECT_TRUE(Drops(0));
  EXPECT_FALSE(Drops(kNowMs + 1));
}

TEST_F(LockoutCompactionFilterTest, KeepsPermanentEntriesWhateverTheTime) {
  clock_.Set(absl::InfiniteFuture());
  EXPECT_FALSE(Drops(kLockedUntilUnblockedMs));
  EXPECT_TRUE(Drops(kNowMs));
}

TEST_F(LockoutCompactionFilterTest, DecidesByTheClockAtCompactionTime) {
  EXPECT_FALSE(Drops(kNowMs + 60'000));
  clock_.Advance(absl::Minutes(1));
  EXPECT_TRUE(Drops(kNowMs + 60'000));
}

TEST_F(LockoutCompactionFilterTest, KeepsCorruptValues) {
  EXPECT_FALSE(Drops(std::string("")));
  EXPECT_FALSE(Drops(std::string("\x02\x00", 2)));
  EXPECT_FALSE(Drops(std::string("\x01\xff", 2)));
}

class RocksDbLockoutIndexTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_NO_FATAL_FAILURE(Open()); }

  void Open() {
    absl::StatusOr<std::unique_ptr<RocksDbStore>> store =
        OpenRocksDbStore(path_, &clock_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }

  void Commit(WriteSet& writes) {
    const absl::Status status = store_->counters().Commit(writes);
    ASSERT_TRUE(status.ok()) << status;
  }

  absl::StatusOr<LockoutPage> TryList(const std::string& policy, int64_t now_ms,
                                      size_t page_size,
                                      const std::string& after = "") {
    LockoutQuery query;
    query.policy = policy;
    query.now_ms = now_ms;
    query.page_size = page_size;
    query.after = after;
    return store_->counters().ListLockouts(query);
  }

  LockoutPage List(const std::string& policy, int64_t now_ms, size_t page_size,
                   const std::string& after = "") {
    absl::StatusOr<LockoutPage> page =
        TryList(policy, now_ms, page_size, after);
    EXPECT_TRUE(page.ok()) << page.status();
    return page.ok() ? *std::move(page) : LockoutPage{};
  }

  // Writes `key` -> `value` into the lockout family with RocksDB itself,
  // the store closed meanwhile.
  void PutRaw(const std::string& key, const std::string& value) {
    store_.reset();
    rocksdb::Options options;
    std::vector<std::string> names;
    ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(options, path_, &names).ok());
    std::vector<rocksdb::ColumnFamilyDescriptor> families;
    for (const std::string& name : names) {
      families.emplace_back(name, rocksdb::ColumnFamilyOptions());
    }
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(
        rocksdb::DB::Open(options, path_, families, &handles, &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    rocksdb::ColumnFamilyHandle* lockouts = nullptr;
    for (size_t i = 0; i < names.size(); ++i) {
      if (names[i] == kLockoutsFamily) lockouts = handles[i];
    }
    ASSERT_NE(lockouts, nullptr);
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), lockouts, key, value).ok());
    for (rocksdb::ColumnFamilyHandle* h : handles) {
      ASSERT_TRUE(db->DestroyColumnFamilyHandle(h).ok());
    }
    ASSERT_TRUE(db->Close().ok());
    ASSERT_NO_FATAL_FAILURE(Open());
  }

  TempDir dir_;
  const std::string path_ = dir_.Sub("db");
  SimulatedClock clock_{absl::FromUnixMillis(kNowMs)};
  std::unique_ptr<RocksDbStore> store_;
};

// Listing with now_ms 0 shows every stored entry, ended or not: what is
// left after compaction is what compaction kept.
TEST_F(RocksDbLockoutIndexTest, CompactionDropsEndedEntriesOnly) {
  WriteSet writes;
  writes.lockouts = {
      Put(Entry("login_ip", 1, kNowMs - 4000, kNowMs - 1)),
      Put(Entry("login_ip", 2, kNowMs - 3000, kNowMs + 3'600'000)),
      Put(Entry("login_user", 3, kNowMs - 2000, kLockedUntilUnblockedMs)),
      Put(Entry("login_user", 4, kNowMs - 1000, kNowMs))};
  ASSERT_NO_FATAL_FAILURE(Commit(writes));
  EXPECT_EQ(List("", 0, 10).entries.size(), 4u);
  ASSERT_TRUE(store_->maintenance().CompactAll().ok());
  EXPECT_EQ(Keys(List("", 0, 10)),
            (std::vector<std::string>{"clogin_user/3", "clogin_ip/2"}));
  EXPECT_EQ(Keys(List("login_ip", 0, 10)),
            (std::vector<std::string>{"clogin_ip/2"}));
  EXPECT_EQ(Keys(List("login_user", 0, 10)),
            (std::vector<std::string>{"clogin_user/3"}));

  // A year on, only the permanent entry is left, reopened or not.
  clock_.Advance(absl::Hours(24 * 365));
  ASSERT_TRUE(store_->maintenance().CompactAll().ok());
  store_.reset();
  ASSERT_NO_FATAL_FAILURE(Open());
  EXPECT_EQ(Keys(List("", 0, 10)), (std::vector<std::string>{"clogin_user/3"}));
  const LockoutPage permanent = List("login_user", 0, 10);
  ASSERT_EQ(permanent.entries.size(), 1u);
  EXPECT_EQ(permanent.entries[0].locked_until_ms, kLockedUntilUnblockedMs);
}

// Ended entries that compaction has not dropped yet are passed over, at
// most kMaxSkippedLockouts per call: past that the page ends early with a
// `next` from which the caller pages on to the entries behind them.
TEST_F(RocksDbLockoutIndexTest, TheStoresSizeCountsTheIndex) {
  const uint64_t empty = store_->maintenance().ApproximateLockoutIndexBytes();
  WriteSet writes;
  for (int i = 0; i < 100; ++i) {
    writes.lockouts.push_back(
        Put(Entry("login_ip", i, kNowMs - i, kNowMs + 3'600'000)));
  }
  ASSERT_NO_FATAL_FAILURE(Commit(writes));
  const uint64_t index = store_->maintenance().ApproximateLockoutIndexBytes();
  EXPECT_GT(index, empty + 100 * 20) << "100 entries under two keys each";
  EXPECT_EQ(store_->maintenance().ApproximateBytes(),
            store_->maintenance().ApproximateCounterBytes() +
                store_->maintenance().ApproximateRedoBytes() +
                store_->maintenance().ApproximateAuditBytes() + index);
}

TEST_F(RocksDbLockoutIndexTest, PassingOverEndedEntriesIsBoundedPerPage) {
  constexpr size_t kEnded = RocksDbCounterStore::kMaxSkippedLockouts + 5;
  WriteSet writes;
  writes.lockouts.push_back(
      Put(Entry("login_ip", 0, kNowMs - 3'600'000, kNowMs + 3'600'000)));
  for (size_t i = 1; i <= kEnded; ++i) {
    writes.lockouts.push_back(
        Put(Entry("login_ip", static_cast<int>(i),
                  kNowMs - static_cast<int64_t>(i), kNowMs - 1)));
  }
  ASSERT_NO_FATAL_FAILURE(Commit(writes));
  for (const std::string policy : {"", "login_ip"}) {
    SCOPED_TRACE(policy);
    const LockoutPage first = List(policy, kNowMs, 10);
    EXPECT_TRUE(first.entries.empty());
    ASSERT_FALSE(first.next.empty());
    const LockoutPage second = List(policy, kNowMs, 10, first.next);
    EXPECT_EQ(Keys(second), (std::vector<std::string>{"clogin_ip/0"}));
    EXPECT_EQ(second.next, "");
  }
}

// Corrupt where the page's skipping reads (version, locked_until) or past
// it: DATA_LOSS either way, never skipped or listed.
TEST_F(RocksDbLockoutIndexTest, CorruptEntryIsDataLoss) {
  const LockoutEntry e = Entry("login_ip", 1, kNowMs, kNowMs + 60'000);
  const std::string order = LockoutOrderKey(e.locked_at_ms, e.storage_key);
  std::string live_then_garbage = EncodeLockoutEntry(e);
  live_then_garbage.resize(live_then_garbage.size() - 3);
  for (const std::string& value :
       {std::string("\x07garbage"), std::string("\x01\xff"),
        live_then_garbage}) {
    SCOPED_TRACE(value);
    ASSERT_NO_FATAL_FAILURE(PutRaw(AllLockoutsKey(order), value));
    absl::StatusOr<LockoutPage> page = TryList("", kNowMs, 10);
    EXPECT_EQ(page.status().code(), absl::StatusCode::kDataLoss)
        << page.status();
    EXPECT_TRUE(List("login_ip", kNowMs, 10).entries.empty());
  }
}

TEST_F(RocksDbLockoutIndexTest, EntryUnderAnotherEntrysKeyIsDataLoss) {
  const LockoutEntry e = Entry("login_ip", 1, kNowMs, kNowMs + 60'000);
  const LockoutEntry other = Entry("login_ip", 2, kNowMs, kNowMs + 60'000);
  ASSERT_NO_FATAL_FAILURE(
      PutRaw(PolicyLockoutsKey("login_ip",
                               LockoutOrderKey(e.locked_at_ms, e.storage_key)),
             EncodeLockoutEntry(other)));
  EXPECT_EQ(TryList("login_ip", kNowMs, 10).status().code(),
            absl::StatusCode::kDataLoss);
}

// A data directory from before the lockout index (two column families,
// counter values without the new fields: testdata/wire_encoded_audit, see
// rocksdb_audit_compat_test.cc) opens with an empty index, its counters
// read as before, and the index works there and survives a reopen.
TEST(RocksDbLockoutIndexCompatTest, DirectoryFromBeforeTheIndexOpens) {
  TempDir dir;
  const std::string path = dir.path() + "/data";
  std::filesystem::copy(std::string(GATEHOUSE_SOURCE_DIR) +
                            "/tests/storage/testdata/wire_encoded_audit",
                        path);
  SimulatedClock clock(absl::FromUnixMillis(kNowMs));
  std::vector<std::string> before;
  ASSERT_TRUE(
      rocksdb::DB::ListColumnFamilies(rocksdb::Options(), path, &before).ok());
  EXPECT_EQ(before, (std::vector<std::string>{"default", "audit"}));

  Policy policy;
  policy.name = "login_ip";
  policy.dimensions = {"ip"};
  absl::StatusOr<std::string> key =
      DeriveStorageKey(policy, {{"ip", "198.51.100.1"}}, "key");
  ASSERT_TRUE(key.ok()) << key.status();
  LockoutQuery all;
  all.now_ms = kNowMs;
  {
    absl::StatusOr<std::unique_ptr<RocksDbStore>> store =
        OpenRocksDbStore(path, &clock);
    ASSERT_TRUE(store.ok()) << store.status();
    absl::StatusOr<std::optional<CounterState>> state =
        (*store)->counters().Read(*key);
    ASSERT_TRUE(state.ok()) << state.status();
    ASSERT_TRUE(state->has_value());
    EXPECT_FALSE((*state)->buckets.empty());
    EXPECT_EQ((*state)->locked_at_ms, 0);
    EXPECT_EQ((*state)->last_audit_sequence, 0u);
    absl::StatusOr<LockoutPage> empty = (*store)->counters().ListLockouts(all);
    ASSERT_TRUE(empty.ok()) << empty.status();
    EXPECT_TRUE(empty->entries.empty());

    WriteSet writes;
    CounterState locked = **state;
    locked.lockout_until_ms = kLockedUntilUnblockedMs;
    locked.locked_at_ms = kNowMs;
    writes.puts.emplace_back(*key, locked);
    AuditEvent event;
    event.time_ms = kNowMs;
    event.op = Operation::kRecord;
    event.policy = "login_ip";
    event.key = {{"ip", "198.51.100.1"}};
    writes.audit.push_back(event);
    writes.put_events = {0};
    LockoutEntry entry;
    entry.policy = "login_ip";
    entry.storage_key = *key;
    entry.locked_at_ms = kNowMs;
    entry.locked_until_ms = kLockedUntilUnblockedMs;
    entry.key = {{"ip", "198.51.100.1"}};
    writes.lockouts = {Put(entry)};
    ASSERT_TRUE((*store)->counters().Commit(writes).ok());
    EXPECT_EQ(writes.audit[0].sequence, 6u);
  }
  std::vector<std::string> after;
  ASSERT_TRUE(
      rocksdb::DB::ListColumnFamilies(rocksdb::Options(), path, &after).ok());
  EXPECT_EQ(after, (std::vector<std::string>{"default", "audit",
                                             kLockoutsFamily, kRedoFamily}));
  absl::StatusOr<std::unique_ptr<RocksDbStore>> store =
      OpenRocksDbStore(path, &clock);
  ASSERT_TRUE(store.ok()) << store.status();
  absl::StatusOr<LockoutPage> page = (*store)->counters().ListLockouts(all);
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->entries.size(), 1u);
  EXPECT_EQ(page->entries[0].storage_key, *key);
  absl::StatusOr<std::optional<CounterState>> state =
      (*store)->counters().Read(*key);
  ASSERT_TRUE(state.ok() && state->has_value());
  EXPECT_EQ((*state)->last_audit_sequence, 6u);
  EXPECT_EQ((*state)->locked_at_ms, kNowMs);
}

}  // namespace
}  // namespace gatehouse
