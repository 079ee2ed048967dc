#ifndef GATEHOUSE_TESTS_TESTING_STORE_CONTRACT_ENV_H_
#define GATEHOUSE_TESTS_TESTING_STORE_CONTRACT_ENV_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "service/core/audit_event.h"
#include "service/core/counter_state.h"
#include "service/core/counter_store.h"

// What the typed contract suites (counter_store_contract.h,
// audit_log_contract.h) need from an implementation. Each suite is
// instantiated with an Env type, default-constructible into a fresh, empty
// store, that provides:
//
//   CounterStore& store();
//   AuditLog& log();          // the same data's audit log
//   static constexpr bool kDurable;
//   void Reopen();            // kDurable only (and instantiate
//                             // DurableCounterStoreContractTest): closes
//                             // the store and opens
//                             // the same data again (ASSERTs on failure)
//   void DropAuditBefore(uint64_t sequence);
//                             // retention: events before `sequence` go,
//                             // through the implementation's own retention
//                             // (event i has time_ms = EventTimeMs(i) in
//                             // the suites, so by age works too)
//   static constexpr bool kCanFail;
//                             // whether its storage can be made to fail:
//   void BreakStorage();      // kCanFail only (and instantiate
//                             // FailingCounterStoreContractTest): from now
//                             // on writes fail in
//                             // the implementation's own storage (not in a
//                             // wrapper), as a failing disk would
//   void RepairStorage();     // kCanFail only: storage works again; the
//                             // store is reopened if it needs that
//
// The suites live in headers (type-parameterised: TYPED_TEST_P) so that
// each layer instantiates them in its own test binary: core tests without
// RocksDB, storage tests with it.
namespace gatehouse::testing {

// Event times the suites commit: non-decreasing in sequence order, one
// second apart, as AuditLog::FirstAtOrAfter assumes.
inline constexpr int64_t kContractStartMs = 1'700'006'400'000;
inline int64_t EventTimeMs(uint64_t sequence) {
  return kContractStartMs + static_cast<int64_t>(sequence) * 1000;
}

// A counter state with every field set, distinct per `n`.
inline CounterState ContractState(uint64_t n) {
  CounterState state;
  state.bucket_ms = 1000;
  state.buckets = {{kContractStartMs / 1000 + 1, n + 1},
                   {kContractStartMs / 1000 + 7, 2 * n + 3}};
  state.lockout_until_ms = kContractStartMs + 900'000 + static_cast<int64_t>(n);
  state.offences = static_cast<uint32_t>(n % 7 + 1);
  state.last_offence_ms = kContractStartMs + static_cast<int64_t>(n);
  // Far from expiry whatever the implementation's clock says.
  state.expires_at_ms = kContractStartMs + 400LL * 24 * 3600 * 1000;
  return state;
}

// An audit event with every field set; `tag` lands in client_id so a test
// can find it again, and `time_ms` is the event time.
inline AuditEvent ContractEvent(const std::string& tag, int64_t time_ms) {
  AuditEvent event;
  event.time_ms = time_ms;
  event.client_id = tag;
  event.op = Operation::kRecord;
  event.policy = "failed_auth_user_ip";
  event.key = {{"ip", "203.0.113.7"}, {"user", "pseudonym-" + tag}};
  event.decision = Decision::kDeny;
  event.shadow = true;
  event.shadow_decision = Decision::kAllow;
  event.hits = 2;
  event.count = 5;
  event.limit = 4;
  event.window_ms = 900'000;
  event.ceiling_hit = true;
  event.locked_until_ms = time_ms + 900'000;
  event.context = {{"route", "/login"}, {"ua", "curl/8"}};
  return event;
}

// Every field of `actual` equals `expected` (sequence included).
inline void ExpectSameEvent(const AuditEvent& actual,
                            const AuditEvent& expected) {
  EXPECT_EQ(actual.sequence, expected.sequence);
  EXPECT_EQ(actual.time_ms, expected.time_ms);
  EXPECT_EQ(actual.client_id, expected.client_id);
  EXPECT_EQ(actual.op, expected.op);
  EXPECT_EQ(actual.policy, expected.policy);
  EXPECT_EQ(actual.key, expected.key);
  EXPECT_EQ(actual.decision, expected.decision);
  EXPECT_EQ(actual.shadow, expected.shadow);
  EXPECT_EQ(actual.shadow_decision, expected.shadow_decision);
  EXPECT_EQ(actual.hits, expected.hits);
  EXPECT_EQ(actual.count, expected.count);
  EXPECT_EQ(actual.limit, expected.limit);
  EXPECT_EQ(actual.window_ms, expected.window_ms);
  EXPECT_EQ(actual.ceiling_hit, expected.ceiling_hit);
  EXPECT_EQ(actual.locked_until_ms, expected.locked_until_ms);
  EXPECT_EQ(actual.context, expected.context);
  EXPECT_EQ(actual.refusal, expected.refusal);
}

// Commits `count` events (tags "<tag>-0"...) and no counter change; returns
// the events with their assigned sequences, or records a failure.
inline std::vector<AuditEvent> CommitEvents(CounterStore& store,
                                            const std::string& tag,
                                            size_t count, int64_t time_ms) {
  WriteSet writes;
  for (size_t i = 0; i < count; ++i) {
    writes.audit.push_back(
        ContractEvent(tag + "-" + std::to_string(i), time_ms));
  }
  const absl::Status status = store.Commit(writes);
  EXPECT_TRUE(status.ok()) << status;
  return writes.audit;
}

}  // namespace gatehouse::testing

#endif  // GATEHOUSE_TESTS_TESTING_STORE_CONTRACT_ENV_H_
