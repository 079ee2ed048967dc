// RocksDbCounterStore, in a temp dir, passes the CounterStore and AuditLog
// contract suites (tests/testing), reopening included; retention is its
// ApplyRetention by age.

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "service/clock/simulated_clock.h"
#include "service/core/audit_log.h"
#include "service/core/counter_store.h"
#include "service/storage/rocksdb_counter_store.h"
#include "tests/testing/audit_log_contract.h"
#include "tests/testing/counter_store_contract.h"
#include "tests/testing/temp_dir.h"

namespace gatehouse::testing {
namespace {

class RocksDbEnv {
 public:
  static constexpr bool kDurable = true;

  RocksDbEnv() { Open(); }

  CounterStore& store() { return *store_; }
  AuditLog& log() { return *store_; }

  void Reopen() {
    store_.reset();
    ASSERT_NO_FATAL_FAILURE(Open());
  }

  // Retention by age: with the clock an hour after the event at `sequence`,
  // an hour's retention keeps it and everything after.
  void DropAuditBefore(uint64_t sequence) {
    const int64_t time_ms = sequence <= store_->HeadSequence()
                                ? EventTimeMs(sequence)
                                : EventTimeMs(store_->HeadSequence()) + 1;
    clock_.Set(absl::FromUnixMillis(time_ms) + absl::Hours(1));
    AuditRetention retention;
    retention.max_age = absl::Hours(1);
    absl::StatusOr<uint64_t> dropped = store_->ApplyRetention(retention);
    ASSERT_TRUE(dropped.ok()) << dropped.status();
  }

 private:
  void Open() {
    absl::StatusOr<std::unique_ptr<RocksDbCounterStore>> store =
        RocksDbCounterStore::Open(dir_.Sub("db"), &clock_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }

  TempDir dir_;
  SimulatedClock clock_{absl::FromUnixMillis(kContractStartMs)};
  std::unique_ptr<RocksDbCounterStore> store_;
};

INSTANTIATE_TYPED_TEST_SUITE_P(RocksDb, CounterStoreContractTest, RocksDbEnv);
INSTANTIATE_TYPED_TEST_SUITE_P(RocksDb, AuditLogContractTest, RocksDbEnv);

}  // namespace
}  // namespace gatehouse::testing
