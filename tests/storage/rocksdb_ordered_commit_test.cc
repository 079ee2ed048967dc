// Commits in order on a real RocksDB store, and the Limiter over the
// counter cache that shows their queued states: a commit decided on the
// state of one that failed is not written; the next holder of a hot key's
// stripe decides while the previous commit is still being written, so with
// --sync_writes one fsync covers several decisions on that key; and no
// decision is lost or over-admitted on the way.
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "service/clock/simulated_clock.h"
#include "service/core/cached_counter_store.h"
#include "service/core/counter_state.h"
#include "service/core/counter_store.h"
#include "service/core/limiter.h"
#include "service/core/policy.h"
#include "service/core/request.h"
#include "service/storage/rocksdb_store.h"
#include "tests/testing/temp_dir.h"

namespace gatehouse {
namespace {

using ::gatehouse::testing::TempDir;

constexpr int64_t kStartMs = 1'700'006'400'000;

CounterState StateOf(uint64_t count) {
  CounterState s;
  s.bucket_ms = 1000;
  s.buckets = {{kStartMs / 1000, count}};
  s.expires_at_ms = kStartMs + 3'600'000;
  return s;
}

AuditEvent EventOf(const std::string& policy) {
  AuditEvent e;
  e.time_ms = kStartMs;
  e.op = Operation::kRecord;
  e.policy = policy;
  return e;
}

Policy HotPolicy(uint64_t limit) {
  Policy p;
  p.name = "hot";
  p.dimensions = {"client"};
  p.limit = limit;
  p.window = absl::Hours(1);
  return p;
}

Request HotRequest() {
  SubjectRequest s;
  s.policy = "hot";
  s.key = {{"client", "one"}};
  Request r;
  r.subjects = {std::move(s)};
  return r;
}

class OrderedCommitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    Open(/*sync=*/false);
  }

  void Open(bool sync) {
    limiter_.reset();
    cache_.reset();
    store_.reset();
    RocksDbStoreOptions options;
    options.sync = sync;
    absl::StatusOr<std::unique_ptr<RocksDbStore>> store =
        OpenRocksDbStore(dir_.Sub("db"), &clock_, options);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    cache_ = std::make_unique<CachedCounterStore>(&store_->counters(),
                                                  CounterCacheOptions{});
  }

  void MakeLimiter(uint64_t limit) {
    limiter_ =
        std::make_unique<Limiter>(&clock_, cache_.get(),
                                  std::make_shared<const PolicySet>(
                                      std::vector<Policy>{HotPolicy(limit)}));
  }

  // Commits `writes` in order; records when `queued` and `done` ran.
  absl::Status CommitInOrder(WriteSet& writes, std::vector<std::string>& log) {
    absl::Status result;
    absl::Notification done;
    store_->counters().CommitInOrder(
        writes, [&log] { log.push_back("queued"); },
        [&](absl::Status status) {
          log.push_back("done");
          result = std::move(status);
          done.Notify();
        });
    done.WaitForNotification();
    return result;
  }

  TempDir dir_;
  SimulatedClock clock_{absl::FromUnixMillis(kStartMs)};
  std::unique_ptr<RocksDbStore> store_;
  std::unique_ptr<CachedCounterStore> cache_;
  std::unique_ptr<Limiter> limiter_;
};

TEST_F(OrderedCommitTest, CommitDecidedOnAFailedOneIsNotWritten) {
  ASSERT_TRUE(store_->counters().writes_in_order());
  // The first cannot be encoded (a lockout change without a policy name):
  // it fails alone, and its outcome says so before the next is written.
  WriteSet first;
  first.puts.emplace_back("k", StateOf(1));
  first.audit.push_back(EventOf("hot"));
  LockoutChange bad;
  bad.entry.storage_key = "k";
  first.lockouts.push_back(bad);
  first.outcome = std::make_shared<CommitOutcome>();
  std::vector<std::string> log;
  EXPECT_EQ(CommitInOrder(first, log).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(first.outcome->state(), CommitOutcome::State::kFailed);

  WriteSet second;
  second.puts.emplace_back("k", StateOf(2));
  second.audit.push_back(EventOf("hot"));
  second.after.push_back(first.outcome);
  second.outcome = std::make_shared<CommitOutcome>();
  const uint64_t head = store_->audit_log().HeadSequence();
  EXPECT_EQ(CommitInOrder(second, log).code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(second.outcome->state(), CommitOutcome::State::kFailed);
  EXPECT_EQ(store_->writer().dependent_failures(), 1u);
  EXPECT_EQ(second.audit[0].sequence, 0u);
  EXPECT_EQ(store_->audit_log().HeadSequence(), head);
  absl::StatusOr<std::optional<CounterState>> stored =
      store_->counters().Read("k");
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_EQ(*stored, std::nullopt);

  // One whose earlier commit was written is written.
  WriteSet third;
  third.puts.emplace_back("k", StateOf(3));
  third.audit.push_back(EventOf("hot"));
  auto written = std::make_shared<CommitOutcome>();
  written->Set(true);
  third.after.push_back(written);
  EXPECT_TRUE(CommitInOrder(third, log).ok());
  EXPECT_EQ(store_->counters().Read("k").value()->buckets, StateOf(3).buckets);
  EXPECT_EQ(log, std::vector<std::string>(
                     {"queued", "done", "queued", "done", "queued", "done"}));
}

TEST_F(OrderedCommitTest, HotKeyDecisionsShareSyncedWrites) {
  Open(/*sync=*/true);
  MakeLimiter(1'000'000);
  ASSERT_TRUE(cache_->shows_queued_states());
  constexpr int kThreads = 8;
  constexpr int kRecordsPerThread = 60;
  const Request hot = HotRequest();
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kRecordsPerThread; ++i) {
        if (!limiter_->Record(hot).ok()) ++failures;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  constexpr uint64_t kRecords = kThreads * kRecordsPerThread;
  EXPECT_EQ(store_->writer().grouped_commits(), kRecords);
  // With the stripe held until the write, every group held one decision
  // on the key: as many fsyncs as decisions.
  EXPECT_LT(store_->writer().groups_written(), kRecords);

  // Every acknowledged decision is durable.
  Open(/*sync=*/true);
  MakeLimiter(1'000'000);
  absl::StatusOr<Response> peek = limiter_->Peek(hot);
  ASSERT_TRUE(peek.ok()) << peek.status();
  EXPECT_EQ(peek->verdicts[0].count, kRecords);
}

TEST_F(OrderedCommitTest, ConcurrentChecksOnAHotKeyAdmitExactlyTheLimit) {
  constexpr uint64_t kLimit = 150;
  MakeLimiter(kLimit);
  constexpr int kThreads = 8;
  constexpr int kChecksPerThread = 40;
  const Request hot = HotRequest();
  std::atomic<uint64_t> allowed{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kChecksPerThread; ++i) {
        absl::StatusOr<Response> r = limiter_->Check(hot);
        if (!r.ok()) {
          ++failures;
        } else if (r->allowed) {
          ++allowed;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(allowed.load(), kLimit);
  absl::StatusOr<Response> peek = limiter_->Peek(hot);
  ASSERT_TRUE(peek.ok()) << peek.status();
  EXPECT_EQ(peek->verdicts[0].count, kLimit);
}

}  // namespace
}  // namespace gatehouse
