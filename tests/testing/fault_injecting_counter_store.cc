#include "tests/testing/fault_injecting_counter_store.h"

#include <utility>

#include "gtest/gtest.h"

namespace gatehouse::testing {

std::optional<absl::Status> FaultInjectingCounterStore::TakeFault(
    int& times, const absl::Status& status) {
  if (times == 0) return std::nullopt;
  if (times > 0) --times;
  return status;
}

absl::StatusOr<std::optional<CounterState>> FaultInjectingCounterStore::Read(
    absl::string_view key) {
  {
    absl::MutexLock lock(&mu_);
    ++reads_;
    if (std::optional<absl::Status> fault =
            TakeFault(read_faults_left_, read_fault_)) {
      return *std::move(fault);
    }
  }
  return inner_->Read(key);
}

absl::Status FaultInjectingCounterStore::Commit(WriteSet& writes) {
  {
    absl::MutexLock lock(&mu_);
    ++commits_;
    ++at_gate_;
    mu_.Await(absl::Condition(&gate_open_));
    --at_gate_;
    if (std::optional<absl::Status> fault =
            TakeFault(commit_faults_left_, commit_fault_)) {
      return *std::move(fault);
    }
  }
  const absl::Status status = inner_->Commit(writes);
  if (status.ok() && (!writes.puts.empty() || !writes.deletes.empty())) {
    absl::MutexLock lock(&mu_);
    ++counter_commits_;
    for (const auto& put : writes.puts) written_keys_.insert(put.first);
    for (const std::string& key : writes.deletes) written_keys_.insert(key);
  }
  return status;
}

absl::StatusOr<LockoutPage> FaultInjectingCounterStore::ListLockouts(
    const LockoutQuery& query) {
  {
    absl::MutexLock lock(&mu_);
    ++reads_;
    if (std::optional<absl::Status> fault =
            TakeFault(read_faults_left_, read_fault_)) {
      return *std::move(fault);
    }
  }
  return inner_->ListLockouts(query);
}

void FaultInjectingCounterStore::FailReads(absl::Status status, int times) {
  absl::MutexLock lock(&mu_);
  read_fault_ = std::move(status);
  read_faults_left_ = times;
}

void FaultInjectingCounterStore::FailCommits(absl::Status status, int times) {
  absl::MutexLock lock(&mu_);
  commit_fault_ = std::move(status);
  commit_faults_left_ = times;
}

void FaultInjectingCounterStore::ClearFaults() {
  absl::MutexLock lock(&mu_);
  read_faults_left_ = 0;
  commit_faults_left_ = 0;
}

void FaultInjectingCounterStore::SetCommitGateOpen(bool open) {
  absl::MutexLock lock(&mu_);
  gate_open_ = open;
}

void FaultInjectingCounterStore::AwaitCommitAtGate() {
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(
      +[](int* n) { return *n > 0; }, &at_gate_));
}

int FaultInjectingCounterStore::reads() const {
  absl::MutexLock lock(&mu_);
  return reads_;
}

int FaultInjectingCounterStore::commits() const {
  absl::MutexLock lock(&mu_);
  return commits_;
}

int FaultInjectingCounterStore::counter_commits() const {
  absl::MutexLock lock(&mu_);
  return counter_commits_;
}

std::set<std::string> FaultInjectingCounterStore::written_keys() const {
  absl::MutexLock lock(&mu_);
  return written_keys_;
}

std::map<std::string, CounterState> FaultInjectingCounterStore::Snapshot() {
  std::map<std::string, CounterState> out;
  for (const std::string& key : written_keys()) {
    absl::StatusOr<std::optional<CounterState>> state = inner_->Read(key);
    if (!state.ok()) {
      ADD_FAILURE() << "Snapshot: reading " << key << ": " << state.status();
      continue;
    }
    if (state->has_value()) out.emplace(key, **state);
  }
  return out;
}

}  // namespace gatehouse::testing
