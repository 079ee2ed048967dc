// InMemoryCounterStore passes the CounterStore and AuditLog contract suites
// (tests/testing); retention is its DropAuditBefore.

#include <cstdint>

#include "service/core/audit_log.h"
#include "service/core/counter_store.h"
#include "service/core/in_memory_counter_store.h"
#include "tests/testing/audit_log_contract.h"
#include "tests/testing/counter_store_contract.h"

namespace gatehouse::testing {
namespace {

class InMemoryEnv {
 public:
  static constexpr bool kDurable = false;
  static constexpr bool kCanFail = false;

  CounterStore& store() { return store_; }
  AuditLog& log() { return store_; }
  void DropAuditBefore(uint64_t sequence) { store_.DropAuditBefore(sequence); }

 private:
  InMemoryCounterStore store_;
};

INSTANTIATE_TYPED_TEST_SUITE_P(InMemory, CounterStoreContractTest, InMemoryEnv);
INSTANTIATE_TYPED_TEST_SUITE_P(InMemory, AuditLogContractTest, InMemoryEnv);

}  // namespace
}  // namespace gatehouse::testing
