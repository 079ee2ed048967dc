// The RocksDB store (OpenRocksDbStore) when the disk fills (a small tmpfs;
// needs root to mount it, which CI has): a failed commit changes nothing and
// makes the store not writable; reads go on; Recover() fails while there is no
// space and succeeds once there is, after which sequences go on without a gap
// and everything committed before is still there, also after reopening.

#include <errno.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "service/clock/simulated_clock.h"
#include "service/core/counter_state.h"
#include "service/core/storage_error.h"
#include "service/storage/rocksdb_store.h"
#include "tests/testing/temp_dir.h"

namespace gatehouse {
namespace {

using ::gatehouse::testing::TempDir;

constexpr int64_t kNowMs = 1'700'000'000'000;

class RocksDbDiskFullTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root to mount a tmpfs";
    mount_point_ = dir_.Sub("mnt");
    std::filesystem::create_directories(mount_point_);
    if (mount("tmpfs", mount_point_.c_str(), "tmpfs", 0, "size=16m") != 0) {
      GTEST_SKIP() << "cannot mount a tmpfs here: " << std::strerror(errno);
    }
    mounted_ = true;
    Open();
  }
  void TearDown() override {
    store_.reset();
    if (mounted_) umount2(mount_point_.c_str(), MNT_DETACH);
  }

  void Open() {
    store_.reset();
    RocksDbStoreOptions options;
    options.write_buffer_bytes = 4 << 20;
    absl::StatusOr<std::unique_ptr<RocksDbStore>> store =
        OpenRocksDbStore(mount_point_ + "/db", &clock_, options);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }

  // One counter put and one audit event.
  absl::Status CommitOne(const std::string& key, uint64_t count) {
    WriteSet writes;
    CounterState state;
    state.bucket_ms = 1000;
    state.buckets = {{kNowMs / 1000, count}};
    state.expires_at_ms = kNowMs + 3'600'000;
    writes.puts.emplace_back(key, state);
    AuditEvent event;
    event.time_ms = kNowMs;
    event.policy = "p";
    event.context["pad"] = std::string(200, 'x');
    writes.audit.push_back(event);
    return store_->counters().Commit(writes);
  }

  uint64_t CountOf(const std::string& key) {
    absl::StatusOr<std::optional<CounterState>> state =
        store_->counters().Read(key);
    EXPECT_TRUE(state.ok()) << state.status();
    if (!state.ok() || !state->has_value()) return 0;
    return (*state)->buckets.empty() ? 0 : (*state)->buckets[0].count;
  }

  TempDir dir_;
  std::string mount_point_;
  bool mounted_ = false;
  SimulatedClock clock_{absl::FromUnixMillis(kNowMs)};
  std::unique_ptr<RocksDbStore> store_;
};

TEST_F(RocksDbDiskFullTest,
       FailedCommitsChangeNothingAndRecoverWhenSpaceReturns) {
  ASSERT_TRUE(CommitOne("c:before", 7).ok());
  // Leave a little space, then commit until it runs out.
  struct statvfs fs;
  ASSERT_EQ(statvfs(mount_point_.c_str(), &fs), 0);
  const uint64_t free_bytes = static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize;
  const std::string filler = mount_point_ + "/filler";
  const int fd = open(filler.c_str(), O_CREAT | O_WRONLY, 0600);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(
      posix_fallocate(fd, 0, static_cast<off_t>(free_bytes - (256 << 10))), 0);
  close(fd);
  uint64_t committed = 1;
  absl::Status failure;
  for (int i = 0; i < 100000 && failure.ok(); ++i) {
    failure = CommitOne(absl::StrCat("c:fill", i), 1);
    if (failure.ok()) ++committed;
  }
  ASSERT_FALSE(failure.ok()) << "the disk never filled";
  EXPECT_TRUE(absl::IsUnavailable(failure)) << failure;
  EXPECT_EQ(StorageErrorKindOf(failure), StorageErrorKind::kWrite) << failure;
  EXPECT_FALSE(store_->maintenance().writable());
  EXPECT_EQ(store_->audit_log().HeadSequence(), committed);

  // Full: commits keep failing and change nothing; reads work.
  EXPECT_FALSE(CommitOne("c:before", 100).ok());
  EXPECT_EQ(CountOf("c:before"), 7u);
  EXPECT_EQ(store_->audit_log().HeadSequence(), committed);
  EXPECT_FALSE(store_->maintenance().Recover().ok());
  EXPECT_FALSE(store_->maintenance().writable());
  // A checkpoint fails too, and its keys stay readable from memory.
  EXPECT_FALSE(store_->checkpointer().Checkpoint().ok());
  EXPECT_EQ(CountOf("c:before"), 7u);
  EXPECT_EQ(CountOf(absl::StrCat("c:fill", committed - 2)), 1u);

  // Space returns. RocksDB may be recovering by itself (Resume then says
  // "busy"), as the server's housekeeping does, Recover() is polled.
  ASSERT_EQ(unlink(filler.c_str()), 0);
  absl::Status recovered = store_->maintenance().Recover();
  for (int i = 0; i < 300 && !recovered.ok(); ++i) {
    absl::SleepFor(absl::Milliseconds(100));
    recovered = store_->maintenance().Recover();
  }
  EXPECT_TRUE(recovered.ok()) << recovered;
  EXPECT_TRUE(store_->maintenance().writable());
  ASSERT_TRUE(CommitOne("c:after", 3).ok());
  EXPECT_EQ(store_->audit_log().HeadSequence(), committed + 1);
  EXPECT_TRUE(store_->checkpointer().Checkpoint().ok());
  absl::StatusOr<std::vector<AuditEvent>> events =
      store_->audit_log().Read(1, committed + 10);
  ASSERT_TRUE(events.ok()) << events.status();
  EXPECT_EQ(events->size(), committed + 1);

  Open();
  EXPECT_EQ(CountOf("c:before"), 7u);
  EXPECT_EQ(CountOf("c:after"), 3u);
  EXPECT_EQ(store_->audit_log().HeadSequence(), committed + 1);
}

}  // namespace
}  // namespace gatehouse
