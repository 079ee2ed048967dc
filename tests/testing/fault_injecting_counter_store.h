#ifndef GATEHOUSE_TESTS_TESTING_FAULT_INJECTING_COUNTER_STORE_H_
#define GATEHOUSE_TESTS_TESTING_FAULT_INJECTING_COUNTER_STORE_H_

#include <map>
#include <optional>
#include <set>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "service/core/counter_state.h"
#include "service/core/counter_store.h"

namespace gatehouse::testing {

// A CounterStore that forwards to a real one and, on request, fails chosen
// operations with chosen statuses or holds commits at a gate; it counts every
// call. For tests of what callers do when storage fails or is slow.
//
// A failed operation is not forwarded: a failed Commit applies nothing and
// uses no sequence number, as the CounterStore contract requires.
//
// Thread-safe. Does not own `inner`, which must outlive it.
class FaultInjectingCounterStore final : public CounterStore {
 public:
  explicit FaultInjectingCounterStore(CounterStore* inner) : inner_(inner) {}
  FaultInjectingCounterStore(const FaultInjectingCounterStore&) = delete;
  FaultInjectingCounterStore& operator=(const FaultInjectingCounterStore&) =
      delete;

  absl::StatusOr<std::optional<CounterState>> Read(
      absl::string_view key) override;
  absl::Status Commit(WriteSet& writes) override;
  // Forwarded; fails as Reads do.
  absl::StatusOr<LockoutPage> ListLockouts(const LockoutQuery& query) override;

  // Makes the next `times` Reads (every Read when negative) fail with
  // `status`, which must not be OK.
  void FailReads(absl::Status status, int times = -1);
  // Makes the next `times` Commits (every Commit when negative) fail with
  // `status`, which must not be OK.
  void FailCommits(absl::Status status, int times = -1);
  // Ends every injected failure.
  void ClearFaults();

  // While closed, Commit waits (before deciding whether to fail) until the
  // gate is opened again. Open at construction.
  void SetCommitGateOpen(bool open);
  // Blocks until at least one Commit waits at the closed gate.
  void AwaitCommitAtGate();

  // Calls so far, failed ones included.
  int reads() const;
  int commits() const;
  // Forwarded commits that put or deleted counters (audit-only ones, such as
  // a denied Check's or a Peek's, are not counted).
  int counter_commits() const;
  // Every key put or deleted by a forwarded commit.
  std::set<std::string> written_keys() const;
  // The inner store's current state of every written key that has one;
  // a failed read is a test failure (ADD_FAILURE) and leaves the key out.
  std::map<std::string, CounterState> Snapshot();

 private:
  // Consumes one injected failure of `times`/`status` if any is armed.
  static std::optional<absl::Status> TakeFault(int& times,
                                               const absl::Status& status);

  CounterStore* const inner_;

  mutable absl::Mutex mu_;
  absl::Status read_fault_ ABSL_GUARDED_BY(mu_);
  int read_faults_left_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status commit_fault_ ABSL_GUARDED_BY(mu_);
  int commit_faults_left_ ABSL_GUARDED_BY(mu_) = 0;
  bool gate_open_ ABSL_GUARDED_BY(mu_) = true;
  int at_gate_ ABSL_GUARDED_BY(mu_) = 0;
  int reads_ ABSL_GUARDED_BY(mu_) = 0;
  int commits_ ABSL_GUARDED_BY(mu_) = 0;
  int counter_commits_ ABSL_GUARDED_BY(mu_) = 0;
  std::set<std::string> written_keys_ ABSL_GUARDED_BY(mu_);
};

}  // namespace gatehouse::testing

#endif  // GATEHOUSE_TESTS_TESTING_FAULT_INJECTING_COUNTER_STORE_H_
