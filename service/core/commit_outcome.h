#ifndef GATEHOUSE_SERVICE_CORE_COMMIT_OUTCOME_H_
#define GATEHOUSE_SERVICE_CORE_COMMIT_OUTCOME_H_

#include <atomic>
#include <memory>
#include <vector>

namespace gatehouse {

// Whether a commit was written, for the commits decided on its states
// before it was (CounterStore::ReadLatest): each of those must be written
// only if it was. Set once, by whichever of the stores that commit passes
// through learns first; a later Set agrees with the first. Thread-safe.
class CommitOutcome {
 public:
  enum class State { kPending, kWritten, kFailed };

  State state() const { return state_.load(std::memory_order_acquire); }
  void Set(bool written) {
    State pending = State::kPending;
    state_.compare_exchange_strong(pending,
                                   written ? State::kWritten : State::kFailed,
                                   std::memory_order_acq_rel);
  }

 private:
  std::atomic<State> state_{State::kPending};
};

// The commits whose states a decision read before they were written.
using CommitOutcomes = std::vector<std::shared_ptr<const CommitOutcome>>;

// Whether one of `after` failed.
inline bool AnyFailed(const CommitOutcomes& after) {
  for (const auto& outcome : after) {
    if (outcome->state() == CommitOutcome::State::kFailed) return true;
  }
  return false;
}

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_CORE_COMMIT_OUTCOME_H_
