// Housekeeping on a simulated clock: what runs when, and what it tells.

#include "service/server/housekeeping.h"

#include <gtest/gtest.h>

#include <vector>

#include "service/clock/simulated_clock.h"
#include "service/core/in_memory_counter_store.h"

namespace gatehouse {
namespace {

// The store's upkeep as housekeeping sees it: counts the calls; writes fail
// until `recovers_after` Recover() calls.
class ScriptedMaintenance final : public StoreMaintenance {
 public:
  absl::StatusOr<uint64_t> ApplyRetention(
      const AuditRetention& retention) override {
    retained.push_back(retention);
    return 0;
  }
  bool writable() const override { return writable_; }
  absl::Status Recover() override {
    ++recover_calls;
    if (recover_calls < recovers_after) {
      return absl::UnavailableError("No space left on device");
    }
    writable_ = true;
    return absl::OkStatus();
  }
  uint64_t ApproximateBytes() const override { return 0; }
  uint64_t EstimateNumKeys() const override { return 0; }

  void FailWrites(int recovers_after_calls) {
    writable_ = false;
    recovers_after = recovers_after_calls;
    recover_calls = 0;
  }

  std::vector<AuditRetention> retained;
  int recover_calls = 0;
  int recovers_after = 0;

 private:
  bool writable_ = true;
};

class HousekeepingTest : public ::testing::Test {
 protected:
  HousekeepingTest() {
    options_.retention.max_age = absl::Hours(1);
    options_.retention.max_bytes = 1 << 20;
    options_.retention_interval = absl::Minutes(1);
    options_.watch_interval = absl::Seconds(2);
  }

  std::unique_ptr<Housekeeping> Make() {
    return std::make_unique<Housekeeping>(
        &clock_, &store_, &audit_log_, options_,
        Housekeeping::Hooks{[this] { ++watches_; },
                            [this](bool w) { states_.push_back(w); }});
  }

  SimulatedClock clock_{absl::FromUnixSeconds(1'700'000'000)};
  ScriptedMaintenance store_;
  InMemoryCounterStore audit_log_;
  HousekeepingOptions options_;
  int watches_ = 0;
  std::vector<bool> states_;
};

TEST_F(HousekeepingTest, RetentionRunsAtOnceThenEveryInterval) {
  std::unique_ptr<Housekeeping> housekeeping = Make();
  housekeeping->RunDue();
  ASSERT_EQ(store_.retained.size(), 1u);
  EXPECT_EQ(store_.retained[0].max_age, absl::Hours(1));
  EXPECT_EQ(store_.retained[0].max_bytes, 1u << 20);
  clock_.Advance(absl::Seconds(59));
  housekeeping->RunDue();
  EXPECT_EQ(store_.retained.size(), 1u);
  clock_.Advance(absl::Seconds(1));
  housekeeping->RunDue();
  EXPECT_EQ(store_.retained.size(), 2u);
}

TEST_F(HousekeepingTest, ConfigIsWatchedEveryWatchIntervalNotAtStart) {
  std::unique_ptr<Housekeeping> housekeeping = Make();
  housekeeping->RunDue();
  EXPECT_EQ(watches_, 0);  // Start-up has just read the files.
  clock_.Advance(absl::Seconds(1));
  housekeeping->RunDue();
  EXPECT_EQ(watches_, 0);
  clock_.Advance(absl::Seconds(1));
  housekeeping->RunDue();
  EXPECT_EQ(watches_, 1);
  clock_.Advance(absl::Seconds(2));
  housekeeping->RunDue();
  EXPECT_EQ(watches_, 2);
}

TEST_F(HousekeepingTest, ZeroWatchIntervalNeverWatches) {
  options_.watch_interval = absl::ZeroDuration();
  std::unique_ptr<Housekeeping> housekeeping = Make();
  for (int i = 0; i < 10; ++i) {
    clock_.Advance(absl::Seconds(5));
    housekeeping->RunDue();
  }
  EXPECT_EQ(watches_, 0);
}

TEST_F(HousekeepingTest, UnwritableStoreIsRecoveredAndReportedEachTick) {
  std::unique_ptr<Housekeeping> housekeeping = Make();
  housekeeping->RunDue();
  store_.FailWrites(/*recovers_after_calls=*/3);
  housekeeping->RunDue();
  housekeeping->RunDue();
  housekeeping->RunDue();
  housekeeping->RunDue();
  EXPECT_EQ(store_.recover_calls, 3);  // Not called once writable again.
  EXPECT_EQ(states_, (std::vector<bool>{true, false, false, true, true}));
}

}  // namespace
}  // namespace gatehouse
