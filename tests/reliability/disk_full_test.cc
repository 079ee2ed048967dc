// The disk filling up under the real server (its data dir on a small
// tmpfs): calls that must write answer UNAVAILABLE, never a made-up
// decision, and count nothing; Peek goes on answering from what is stored;
// health turns NOT_SERVING and the metrics and log say why. When space
// returns the server recovers by itself, and nothing acknowledged before,
// during or after is lost, also across a kill -9.

#include <errno.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "tests/integration/health_probe.h"
#include "tests/reliability/reliability_support.h"

namespace gatehouse::testing {
namespace {

using SteadyClock = std::chrono::steady_clock;

// Polls `condition` every 50 ms for up to `timeout`; whether it held.
template <typename Condition>
bool Eventually(Condition condition, std::chrono::milliseconds timeout) {
  const auto give_up = SteadyClock::now() + timeout;
  while (SteadyClock::now() < give_up) {
    if (condition()) return true;
    // Polling another process's state.
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return condition();
}

int Health(const std::string& address) {
  grpc::Status status;
  return HealthCheck(address, &status);
}

class DiskFullTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) {
      GTEST_SKIP() << "needs root to mount a tmpfs (CI runs as root)";
    }
    mount_point_ = dir_.path() + "/mnt";
    std::filesystem::create_directories(mount_point_);
    if (mount("tmpfs", mount_point_.c_str(), "tmpfs", 0, "size=48m") != 0) {
      GTEST_SKIP() << "cannot mount a tmpfs here: " << std::strerror(errno);
    }
    mounted_ = true;
  }
  void TearDown() override {
    server_.reset();
    if (mounted_) umount2(mount_point_.c_str(), MNT_DETACH);
  }

  // Takes all but `leave` bytes of the tmpfs with a file of its own.
  void FillDisk(uint64_t leave) {
    struct statvfs fs;
    ASSERT_EQ(statvfs(mount_point_.c_str(), &fs), 0);
    const uint64_t free_bytes =
        static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize;
    ASSERT_GT(free_bytes, leave);
    filler_ = mount_point_ + "/filler";
    const int fd = open(filler_.c_str(), O_CREAT | O_WRONLY, 0600);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(posix_fallocate(fd, 0, static_cast<off_t>(free_bytes - leave)),
              0);
    close(fd);
  }

  Client::Result RecordOne(Client& client, const std::string& key,
                           uint64_t hits = 1) {
    v1::RecordRequest request;
    *request.add_subjects() =
        Client::MakeSubject("counter", {{"id", key}}, hits);
    // Bulk, so the disk fills in a few thousand calls.
    (*request.mutable_context())["route"] = std::string(200, 'r');
    return client.Record(request);
  }

  TempDir dir_;
  std::string mount_point_, filler_;
  bool mounted_ = false;
  std::unique_ptr<ReliableServer> server_;
};

TEST_F(DiskFullTest, WritesFailUnavailablePeekAnswersAndRecoveryLosesNothing) {
  server_ = std::make_unique<ReliableServer>(
      dir_.path(), mount_point_ + "/data",
      // Small memtables: RocksDB keeps
      // that much free space in reserve.
      std::vector<std::string>{"--write_buffer_mb=1"});
  std::string error;
  ASSERT_TRUE(server_->Start(&error)) << error;
  ASSERT_EQ(Health(server_->address()), kServing);
  Ledger ledger;
  {
    std::unique_ptr<Client> client = server_->NewClient();
    for (int i = 0; i < 20; ++i) {
      const std::string key = absl::StrCat("before-", i);
      const Client::Result r = RecordOne(*client, key, 5);
      ASSERT_TRUE(r.status.ok()) << r.status.error_message();
      ledger.Acknowledged(key, 5, r.verdicts[0].audit_sequence());
    }
  }

  // Fill the disk, then write until the server refuses.
  FillDisk(/*leave=*/512 << 10);
  int acknowledged_while_filling = 0;
  grpc::Status refusal;
  {
    std::unique_ptr<Client> client = server_->NewClient();
    for (int i = 0; i < 200000 && refusal.ok(); ++i) {
      const std::string key = absl::StrCat("fill-", i % 100);
      const Client::Result r = RecordOne(*client, key);
      if (r.status.ok()) {
        ledger.Acknowledged(key, 1, r.verdicts[0].audit_sequence());
        ++acknowledged_while_filling;
      } else {
        refusal = r.status;
      }
    }
  }
  ASSERT_FALSE(refusal.ok()) << "the disk never filled";
  EXPECT_EQ(refusal.error_code(), grpc::StatusCode::UNAVAILABLE)
      << refusal.error_message();
  std::cout << "disk full after " << acknowledged_while_filling
            << " acknowledged Records: " << refusal.error_message() << "\n";

  // While full: what must write is refused, and nothing is counted.
  {
    std::unique_ptr<Client> client = server_->NewClient();
    for (int i = 0; i < 3; ++i) {
      EXPECT_EQ(RecordOne(*client, "before-0").status.error_code(),
                grpc::StatusCode::UNAVAILABLE);
      v1::CheckRequest check;
      *check.add_subjects() =
          Client::MakeSubject("counter", {{"id", "before-1"}});
      EXPECT_EQ(client->Check(check).status.error_code(),
                grpc::StatusCode::UNAVAILABLE);
      v1::ResetRequest reset;
      *reset.add_subjects() =
          Client::MakeSubject("counter", {{"id", "before-2"}});
      EXPECT_EQ(client->Reset(reset).status.error_code(),
                grpc::StatusCode::UNAVAILABLE);
    }
    // Peek answers from what is stored. Asked by a client of its own: one
    // that just saw these refusals cools down for a moment, Peeks included.
    v1::PeekRequest peek;
    *peek.add_subjects() = Client::MakeSubject("counter", {{"id", "before-0"}});
    const Client::Result r = server_->NewClient()->Peek(peek);
    ASSERT_TRUE(r.status.ok()) << r.status.error_message();
    EXPECT_EQ(r.verdicts[0].count(), 5u);
  }
  EXPECT_TRUE(
      Eventually([&] { return Health(server_->address()) == kNotServing; },
                 std::chrono::seconds(5)));
  const int metrics_port = server_->process().metrics_port();
  EXPECT_EQ(ScrapeValue(metrics_port, "gatehouse_storage_writable"), 0);
  EXPECT_GT(ScrapeValue(metrics_port,
                        "gatehouse_storage_errors_total{operation=\"write\"}"),
            0);
  EXPECT_TRUE(absl::StrContains(server_->process().stderr_text(),
                                "storage not writable"))
      << server_->process().stderr_text();

  // Space returns: the server recovers by itself.
  const auto freed = SteadyClock::now();
  ASSERT_EQ(unlink(filler_.c_str()), 0);
  EXPECT_TRUE(Eventually([&] { return Health(server_->address()) == kServing; },
                         std::chrono::seconds(20)))
      << server_->process().stderr_text();
  std::cout << "serving again "
            << std::chrono::duration_cast<std::chrono::milliseconds>(
                   SteadyClock::now() - freed)
                   .count()
            << " ms after space returned\n";
  EXPECT_EQ(ScrapeValue(metrics_port, "gatehouse_storage_writable"), 1);
  {
    std::unique_ptr<Client> client = server_->NewClient();
    for (int i = 0; i < 50; ++i) {
      const std::string key = absl::StrCat("after-", i % 10);
      const Client::Result r = RecordOne(*client, key);
      ASSERT_TRUE(r.status.ok()) << r.status.error_message();
      ledger.Acknowledged(key, 1, r.verdicts[0].audit_sequence());
    }
  }

  // Nothing acknowledged is lost, now and after a crash.
  for (int round = 0; round < 2; ++round) {
    SCOPED_TRACE(round == 0 ? "after recovery" : "after kill -9");
    const LedgerReport report = ExpectNothingLost(ledger, *server_);
    const uint64_t checked = report.checked, lost = report.lost;
    EXPECT_EQ(checked, ledger.total_acknowledged());
    std::cout << "disk full: " << checked << " acknowledged checked, " << lost
              << " lost (" << (round == 0 ? "after recovery" : "after kill -9")
              << ")\n";
    if (round == 0) {
      server_->process().Kill();
      ASSERT_TRUE(server_->Start(&error)) << error;
    }
  }
}

}  // namespace
}  // namespace gatehouse::testing
