// The RocksDB store (OpenRocksDbStore), in a temp dir, passes the CounterStore
// and AuditLog contract suites (tests/testing), reopening included, on its own
// and behind the counter cache (CachedCounterStore, as the server runs it);
// retention is its ApplyRetention by age, and its storage fails when the
// process may not grow the write-ahead log (RLIMIT_FSIZE, as a full disk
// would refuse it).

#include <signal.h>
#include <sys/resource.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "service/clock/simulated_clock.h"
#include "service/core/audit_log.h"
#include "service/core/cached_counter_store.h"
#include "service/core/counter_store.h"
#include "service/storage/rocksdb_store.h"
#include "tests/testing/audit_log_contract.h"
#include "tests/testing/counter_store_contract.h"
#include "tests/testing/temp_dir.h"

namespace gatehouse::testing {
namespace {

// The store's own counters, or (kCached) the counter cache in front of them,
// which lives as long as the store it fronts.
template <bool kCached>
class RocksDbEnvOf {
 public:
  static constexpr bool kDurable = true;
  static constexpr bool kCanFail = true;

  RocksDbEnvOf() { Open(); }
  ~RocksDbEnvOf() { RestoreFileSizeLimit(); }

  CounterStore& store() {
    if (kCached) return *cache_;
    return store_->counters();
  }
  AuditLog& log() { return store_->audit_log(); }

  void Reopen() {
    cache_.reset();
    store_.reset();
    ASSERT_NO_FATAL_FAILURE(Open());
  }

  // Retention by age: with the clock an hour after the event at `sequence`,
  // an hour's retention keeps it and everything after.
  void DropAuditBefore(uint64_t sequence) {
    const int64_t time_ms =
        sequence <= store_->audit_log().HeadSequence()
            ? EventTimeMs(sequence)
            : EventTimeMs(store_->audit_log().HeadSequence()) + 1;
    clock_.Set(absl::FromUnixMillis(time_ms) + absl::Hours(1));
    AuditRetention retention;
    retention.max_age = absl::Hours(1);
    absl::StatusOr<uint64_t> dropped =
        store_->maintenance().ApplyRetention(retention);
    ASSERT_TRUE(dropped.ok()) << dropped.status();
  }

  // The process may no longer write past the current end of the newest
  // write-ahead log, so the next commit's WAL write fails (EFBIG; SIGXFSZ
  // is ignored meanwhile).
  void BreakStorage() {
    uint64_t newest = 0;
    std::string wal;
    for (const auto& entry :
         std::filesystem::directory_iterator(dir_.Sub("db"))) {
      if (entry.path().extension() != ".log") continue;
      const uint64_t number =
          std::strtoull(entry.path().stem().c_str(), nullptr, 10);
      if (wal.empty() || number > newest) {
        newest = number;
        wal = entry.path().string();
      }
    }
    ASSERT_FALSE(wal.empty()) << "no write-ahead log in " << dir_.Sub("db");
    const uint64_t size = std::filesystem::file_size(wal);
    ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &saved_limit_), 0);
    previous_sigxfsz_ = signal(SIGXFSZ, SIG_IGN);
    broken_ = true;
    rlimit limit = saved_limit_;
    limit.rlim_cur = size;
    ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &limit), 0);
  }

  // Lifts the limit and reopens: RocksDB stops writing after a failed WAL
  // write until the DB is reopened.
  void RepairStorage() {
    RestoreFileSizeLimit();
    ASSERT_NO_FATAL_FAILURE(Reopen());
  }

 private:
  void Open() {
    absl::StatusOr<std::unique_ptr<RocksDbStore>> store =
        OpenRocksDbStore(dir_.Sub("db"), &clock_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    if (kCached) {
      cache_ = std::make_unique<CachedCounterStore>(&store_->counters(),
                                                    CounterCacheOptions{});
    }
  }

  void RestoreFileSizeLimit() {
    if (!broken_) return;
    broken_ = false;
    setrlimit(RLIMIT_FSIZE, &saved_limit_);
    signal(SIGXFSZ, previous_sigxfsz_);
  }

  TempDir dir_;
  bool broken_ = false;
  rlimit saved_limit_{};
  sighandler_t previous_sigxfsz_ = SIG_DFL;
  SimulatedClock clock_{absl::FromUnixMillis(kContractStartMs)};
  std::unique_ptr<RocksDbStore> store_;
  std::unique_ptr<CachedCounterStore> cache_;
};

using RocksDbEnv = RocksDbEnvOf<false>;
using CachedRocksDbEnv = RocksDbEnvOf<true>;

INSTANTIATE_TYPED_TEST_SUITE_P(RocksDb, CounterStoreContractTest, RocksDbEnv);
INSTANTIATE_TYPED_TEST_SUITE_P(RocksDb, DurableCounterStoreContractTest,
                               RocksDbEnv);
INSTANTIATE_TYPED_TEST_SUITE_P(RocksDb, FailingCounterStoreContractTest,
                               RocksDbEnv);
INSTANTIATE_TYPED_TEST_SUITE_P(RocksDb, AuditLogContractTest, RocksDbEnv);

INSTANTIATE_TYPED_TEST_SUITE_P(CachedRocksDb, CounterStoreContractTest,
                               CachedRocksDbEnv);
INSTANTIATE_TYPED_TEST_SUITE_P(CachedRocksDb, DurableCounterStoreContractTest,
                               CachedRocksDbEnv);
INSTANTIATE_TYPED_TEST_SUITE_P(CachedRocksDb, FailingCounterStoreContractTest,
                               CachedRocksDbEnv);

}  // namespace
}  // namespace gatehouse::testing
