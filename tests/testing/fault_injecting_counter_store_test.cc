// FaultInjectingCounterStore: over an in-memory store it keeps the
// CounterStore and AuditLog contracts (the typed suites), and an injected
// commit failure leaves nothing as a real one must; failures come with the
// chosen status for the chosen number of calls; calls are counted; the gate
// holds commits.

#include "tests/testing/fault_injecting_counter_store.h"

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "service/core/in_memory_counter_store.h"
#include "tests/testing/audit_log_contract.h"
#include "tests/testing/counter_store_contract.h"
#include "tests/testing/store_contract_env.h"

namespace gatehouse::testing {
namespace {

// The wrapper over an in-memory store; broken storage is an injected
// UNAVAILABLE on every Commit.
class WrappedInMemoryEnv {
 public:
  static constexpr bool kDurable = false;
  static constexpr bool kCanFail = true;

  CounterStore& store() { return wrapper_; }
  AuditLog& log() { return memory_; }
  void DropAuditBefore(uint64_t sequence) { memory_.DropAuditBefore(sequence); }
  void BreakStorage() {
    wrapper_.FailCommits(absl::UnavailableError("injected"));
  }
  void RepairStorage() { wrapper_.ClearFaults(); }

 private:
  InMemoryCounterStore memory_;
  FaultInjectingCounterStore wrapper_{&memory_};
};

INSTANTIATE_TYPED_TEST_SUITE_P(Wrapped, CounterStoreContractTest,
                               WrappedInMemoryEnv);
INSTANTIATE_TYPED_TEST_SUITE_P(Wrapped, FailingCounterStoreContractTest,
                               WrappedInMemoryEnv);
INSTANTIATE_TYPED_TEST_SUITE_P(Wrapped, AuditLogContractTest,
                               WrappedInMemoryEnv);

WriteSet PutOf(const std::string& key, uint64_t n) {
  WriteSet writes;
  writes.puts.emplace_back(key, ContractState(n));
  return writes;
}

class FaultInjectingCounterStoreTest : public ::testing::Test {
 protected:
  InMemoryCounterStore memory_;
  FaultInjectingCounterStore store_{&memory_};
};

TEST_F(FaultInjectingCounterStoreTest,
       FailsTheChosenNumberOfCommitsThenForwards) {
  store_.FailCommits(absl::DataLossError("chosen"), 2);
  WriteSet a = PutOf("a", 1);
  EXPECT_EQ(store_.Commit(a).code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(store_.Commit(a).code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(memory_.size(), 0u);
  EXPECT_TRUE(store_.Commit(a).ok());
  EXPECT_EQ(memory_.size(), 1u);
  EXPECT_EQ(store_.commits(), 3);
  EXPECT_EQ(store_.counter_commits(), 1);
}

TEST_F(FaultInjectingCounterStoreTest, FailsReadsUntilCleared) {
  WriteSet a = PutOf("a", 1);
  ASSERT_TRUE(store_.Commit(a).ok());
  store_.FailReads(absl::UnavailableError("read failed"));
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(store_.Read("a").status().code(), absl::StatusCode::kUnavailable);
  }
  store_.ClearFaults();
  absl::StatusOr<std::optional<CounterState>> state = store_.Read("a");
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(*state, ContractState(1));
  EXPECT_EQ(store_.reads(), 4);
}

TEST_F(FaultInjectingCounterStoreTest, CountsOnlyCounterCommitsAndTheirKeys) {
  WriteSet audit_only;
  audit_only.audit.push_back(ContractEvent("e", kContractStartMs));
  ASSERT_TRUE(store_.Commit(audit_only).ok());
  WriteSet writes = PutOf("a", 1);
  writes.deletes = {"b"};
  ASSERT_TRUE(store_.Commit(writes).ok());
  EXPECT_EQ(store_.commits(), 2);
  EXPECT_EQ(store_.counter_commits(), 1);
  EXPECT_EQ(store_.written_keys(), (std::set<std::string>{"a", "b"}));
  const auto snapshot = store_.Snapshot();
  ASSERT_EQ(snapshot.size(), 1u);
  EXPECT_EQ(snapshot.at("a"), ContractState(1));
}

TEST_F(FaultInjectingCounterStoreTest, ClosedGateHoldsCommitsUntilOpened) {
  store_.SetCommitGateOpen(false);
  std::thread committer([this] {
    WriteSet a = PutOf("a", 1);
    EXPECT_TRUE(store_.Commit(a).ok());
  });
  store_.AwaitCommitAtGate();
  EXPECT_EQ(memory_.size(), 0u);
  store_.SetCommitGateOpen(true);
  committer.join();
  EXPECT_EQ(memory_.size(), 1u);
}

}  // namespace
}  // namespace gatehouse::testing
