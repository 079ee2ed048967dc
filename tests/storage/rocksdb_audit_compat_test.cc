// A data directory written before audit events had a storage codec of their
// own (by b1251f8's server: events stored as serialized gatehouse.v1
// AuditEvent messages) still opens, replays, and takes new events.
//
// testdata/wire_encoded_audit: policy login_ip {ip}, limit 2, window 1h,
// lockout 1h; three Checks of 203.0.113.9 (context route=/login), a Record
// of 198.51.100.1, a Reset of 203.0.113.9; then a clean shutdown.

#include <filesystem>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "service/audit/audit_storage_codec.h"
#include "service/clock/simulated_clock.h"
#include "service/storage/rocksdb_store.h"
#include "tests/testing/temp_dir.h"

namespace gatehouse {
namespace {

using ::gatehouse::testing::TempDir;

class RocksDbAuditCompatTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::copy(std::string(GATEHOUSE_SOURCE_DIR) +
                              "/tests/storage/testdata/wire_encoded_audit",
                          dir_.path() + "/data");
    absl::StatusOr<std::unique_ptr<RocksDbStore>> store =
        OpenRocksDbStore(dir_.path() + "/data", &clock_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }

  TempDir dir_;
  SimulatedClock clock_;
  std::unique_ptr<RocksDbStore> store_;
};

TEST_F(RocksDbAuditCompatTest, WireEncodedEventsReplayAsWritten) {
  EXPECT_EQ(store_->audit_log().OldestSequence(), 1u);
  ASSERT_EQ(store_->audit_log().HeadSequence(), 5u);
  absl::StatusOr<std::vector<AuditEvent>> events =
      store_->audit_log().Read(1, 100);
  ASSERT_TRUE(events.ok()) << events.status();
  ASSERT_EQ(events->size(), 5u);
  const std::vector<Operation> ops = {Operation::kCheck, Operation::kCheck,
                                      Operation::kCheck, Operation::kRecord,
                                      Operation::kReset};
  const std::vector<Decision> decisions = {Decision::kAllow, Decision::kAllow,
                                           Decision::kDeny, Decision::kAllow,
                                           Decision::kAllow};
  for (size_t i = 0; i < events->size(); ++i) {
    const AuditEvent& e = (*events)[i];
    SCOPED_TRACE(i);
    EXPECT_EQ(e.sequence, i + 1);
    EXPECT_EQ(e.op, ops[i]);
    EXPECT_EQ(e.decision, decisions[i]);
    EXPECT_EQ(e.policy, "login_ip");
    EXPECT_EQ(e.limit, 2u);
    EXPECT_EQ(e.window_ms, 3'600'000);
    EXPECT_GT(e.time_ms, 1'700'000'000'000);
  }
  const AuditEvent& second = (*events)[1];
  EXPECT_EQ(second.key, (std::vector<std::pair<std::string, std::string>>{
                            {"ip", "203.0.113.9"}}));
  EXPECT_EQ(second.context.at("route"), "/login");
  EXPECT_TRUE(second.ceiling_hit);
  EXPECT_GT(second.locked_until_ms, second.time_ms);
  EXPECT_EQ((*events)[3].key[0].second, "198.51.100.1");
}

TEST_F(RocksDbAuditCompatTest, NewEventsFollowTheOldOnesWithoutAGap) {
  WriteSet writes;
  AuditEvent event;
  event.time_ms = 1'800'000'000'000;
  event.op = Operation::kPeek;
  event.policy = "login_ip";
  event.key = {{"ip", "192.0.2.1"}};
  event.decision = Decision::kDeny;
  writes.audit.push_back(event);
  ASSERT_TRUE(store_->counters().Commit(writes).ok());
  EXPECT_EQ(writes.audit[0].sequence, 6u);

  absl::StatusOr<std::vector<AuditEvent>> events =
      store_->audit_log().Read(5, 10);
  ASSERT_TRUE(events.ok()) << events.status();
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[0].op, Operation::kReset);
  EXPECT_EQ((*events)[1].op, Operation::kPeek);
  EXPECT_EQ((*events)[1].key[0].second, "192.0.2.1");
}

}  // namespace
}  // namespace gatehouse
