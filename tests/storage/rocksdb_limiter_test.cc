// The Limiter over a real RocksDB store (RocksDbCounterStore): counts persist
// across a reopen, concurrent records are all counted, and expired subjects are
// compacted away.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "service/clock/simulated_clock.h"
#include "service/core/counter_state.h"
#include "service/core/limiter.h"
#include "service/core/policy.h"
#include "service/core/request.h"
#include "service/core/subject_key.h"
#include "service/core/verdict.h"
#include "service/storage/rocksdb_store.h"
#include "tests/testing/temp_dir.h"

namespace gatehouse {
namespace {

using ::gatehouse::testing::TempDir;

Policy FailedAuthPolicy() {
  Policy p;
  p.name = "failed_auth_user_ip";
  p.dimensions = {"ip", "user"};
  p.limit = 5;
  p.window = absl::Minutes(15);
  return p;
}

Policy HighVolumePolicy() {
  Policy p;
  p.name = "api_calls";
  p.dimensions = {"client"};
  p.limit = 1'000'000;
  p.window = absl::Hours(1);
  return p;
}

Request OneSubject(const std::string& policy,
                   std::map<std::string, std::string> key) {
  SubjectRequest s;
  s.policy = policy;
  s.key = std::move(key);
  Request r;
  r.subjects = {std::move(s)};
  return r;
}

// Owns a temp dir, a simulated clock at a minute boundary, the RocksDB store
// and a Limiter over it; either can be destroyed and reopened.
class RocksDbLimiterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    Open();
  }

  void Open() {
    absl::StatusOr<std::unique_ptr<RocksDbStore>> store =
        OpenRocksDbStore(dir_.Sub("db"), &clock_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    limiter_ = std::make_unique<Limiter>(
        &clock_, &store_->counters(),
        std::make_shared<const PolicySet>(
            std::vector<Policy>{FailedAuthPolicy(), HighVolumePolicy()}));
  }

  // Destroys the limiter, then the store, as a shutdown does.
  void Close() {
    limiter_.reset();
    store_.reset();
  }

  Verdict Run(Operation op, const Request& request) {
    absl::StatusOr<Response> response = limiter_->Run(op, request);
    EXPECT_TRUE(response.ok()) << response.status();
    if (!response.ok() || response->verdicts.size() != 1) return Verdict{};
    return response->verdicts[0];
  }

  uint64_t CounterKeys() {
    absl::StatusOr<uint64_t> n = store_->maintenance().CountCounterKeys();
    EXPECT_TRUE(n.ok()) << n.status();
    return n.ok() ? *n : 0;
  }

  TempDir dir_;
  SimulatedClock clock_{absl::FromUnixSeconds(1'700'006'400)};
  std::unique_ptr<RocksDbStore> store_;
  std::unique_ptr<Limiter> limiter_;
};

const std::map<std::string, std::string> kAlice = {{"user", "alice"},
                                                   {"ip", "203.0.113.7"}};

TEST_F(RocksDbLimiterTest, CountsSurviveReopeningTheStore) {
  const Request alice = OneSubject("failed_auth_user_ip", kAlice);
  for (int i = 0; i < 3; ++i) {
    clock_.Advance(absl::Seconds(10));
    EXPECT_EQ(Run(Operation::kRecord, alice).count, uint64_t(i) + 1);
  }
  Close();
  Open();
  const Verdict v = Run(Operation::kPeek, alice);
  EXPECT_EQ(v.count, 3u);
  EXPECT_EQ(v.remaining, 2u);
  EXPECT_EQ(v.decision, Decision::kAllow);
}

TEST_F(RocksDbLimiterTest, IpIsCanonicalisedBeforeStoring) {
  // The IPv4-mapped IPv6 form is the same subject as the plain IPv4 one.
  Run(Operation::kRecord, OneSubject("failed_auth_user_ip", kAlice));
  Run(Operation::kRecord,
      OneSubject("failed_auth_user_ip",
                 {{"user", "alice"}, {"ip", "::ffff:203.0.113.7"}}));
  Close();
  Open();
  EXPECT_EQ(CounterKeys(), 1u);
  EXPECT_EQ(
      Run(Operation::kPeek, OneSubject("failed_auth_user_ip", kAlice)).count,
      2u);
}

TEST_F(RocksDbLimiterTest, ResetDeletesTheStoredCounter) {
  const Request alice = OneSubject("failed_auth_user_ip", kAlice);
  Run(Operation::kRecord, alice);
  EXPECT_EQ(CounterKeys(), 1u);
  Run(Operation::kReset, alice);
  EXPECT_EQ(CounterKeys(), 0u);
  Close();
  Open();
  EXPECT_EQ(Run(Operation::kPeek, alice).count, 0u);
}

TEST_F(RocksDbLimiterTest, CallsOneAfterAnotherAreGroupsOfOne) {
  const Request alice = OneSubject("failed_auth_user_ip", kAlice);
  for (int i = 0; i < 3; ++i) Run(Operation::kRecord, alice);
  EXPECT_EQ(store_->writer().groups_written(), 3u);
  EXPECT_EQ(store_->writer().grouped_commits(), 3u);
}

TEST_F(RocksDbLimiterTest, ConcurrentRecordsAreAllCounted) {
  constexpr int kThreads = 8;
  constexpr int kRecordsPerThread = 200;
  const Request shared = OneSubject("api_calls", {{"client", "batch-job"}});
  std::vector<std::thread> threads;
  std::vector<int> failures(kThreads, 0);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([this, &shared, &failures, t] {
      for (int i = 0; i < kRecordsPerThread; ++i) {
        if (!limiter_->Record(shared).ok()) ++failures[t];
      }
    });
  }
  for (std::thread& t : threads) t.join();
  for (int t = 0; t < kThreads; ++t)
    EXPECT_EQ(failures[t], 0) << "thread " << t;
  // Every Record's commit was written in some group, alone or shared.
  EXPECT_EQ(store_->writer().grouped_commits(), 1600u);
  EXPECT_GE(store_->writer().groups_written(), 1u);
  EXPECT_LE(store_->writer().groups_written(), 1600u);

  EXPECT_EQ(Run(Operation::kPeek, shared).count, 1600u);
  // The stored buckets hold exactly as many hits.
  absl::StatusOr<std::string> key = DeriveStorageKey(
      HighVolumePolicy(), {{"client", "batch-job"}}, "subject");
  ASSERT_TRUE(key.ok()) << key.status();
  absl::StatusOr<std::optional<CounterState>> state =
      store_->counters().Read(*key);
  ASSERT_TRUE(state.ok()) << state.status();
  ASSERT_TRUE(state->has_value());
  uint64_t stored = 0;
  for (const Bucket& b : (*state)->buckets) stored += b.count;
  EXPECT_EQ(stored, 1600u);
}

TEST_F(RocksDbLimiterTest, SubjectIsCompactedAwayOnceItsWindowHasPassed) {
  Run(Operation::kRecord, OneSubject("failed_auth_user_ip", kAlice));
  Run(Operation::kRecord, OneSubject("api_calls", {{"client", "batch-job"}}));
  EXPECT_EQ(CounterKeys(), 2u);

  // Fifteen minutes later the failed-auth hit still counts (the oldest
  // bucket is kept whole) and survives compaction.
  clock_.Advance(absl::Minutes(15));
  ASSERT_TRUE(store_->maintenance().CompactAll().ok());
  EXPECT_EQ(CounterKeys(), 2u);

  // One bucket (15 s) later it has expired; the one-hour window has not.
  clock_.Advance(absl::Seconds(15));
  ASSERT_TRUE(store_->maintenance().CompactAll().ok());
  EXPECT_EQ(CounterKeys(), 1u);
  EXPECT_EQ(
      Run(Operation::kPeek, OneSubject("failed_auth_user_ip", kAlice)).count,
      0u);
  EXPECT_EQ(
      Run(Operation::kPeek, OneSubject("api_calls", {{"client", "batch-job"}}))
          .count,
      1u);
}

}  // namespace
}  // namespace gatehouse
