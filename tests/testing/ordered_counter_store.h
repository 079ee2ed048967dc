#ifndef GATEHOUSE_TESTS_TESTING_ORDERED_COUNTER_STORE_H_
#define GATEHOUSE_TESTS_TESTING_ORDERED_COUNTER_STORE_H_

#include <deque>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "gtest/gtest.h"
#include "service/core/counter_store.h"
#include "service/core/in_memory_counter_store.h"

namespace gatehouse::testing {

// A CounterStore over an in-memory one that queues commits and writes them,
// in order, when the test says so, as GroupCommitWriter does (see
// CounterStore::writes_in_order): `queued` runs at once, a commit whose `after`
// holds a failed outcome is failed unwritten, and each commit's outcome is
// set as it is written.
class OrderedCounterStore final : public CounterStore {
 public:
  absl::StatusOr<std::optional<CounterState>> Read(
      absl::string_view key) override {
    return memory_.Read(key);
  }
  // Written at once, beside the queue.
  absl::Status Commit(WriteSet& writes) override {
    return memory_.Commit(writes);
  }
  absl::StatusOr<LockoutPage> ListLockouts(const LockoutQuery& query) override {
    return memory_.ListLockouts(query);
  }
  bool writes_in_order() const override { return true; }
  void CommitInOrder(WriteSet& writes, Queued queued,
                     CommitDone done) override {
    queue_.push_back(Pending{&writes, std::move(done), absl::OkStatus()});
    std::move(queued)();
  }

  // Writes the first queued commit, or fails it with `fail` when not OK,
  // and sets its outcome; its `done` runs at once unless `hold`, then on
  // AnswerHeld().
  void WriteNext(absl::Status fail = absl::OkStatus(), bool hold = false) {
    ASSERT_FALSE(queue_.empty());
    Pending p = std::move(queue_.front());
    queue_.pop_front();
    if (AnyFailed(p.writes->after)) {
      p.status = absl::UnavailableError("decided on a failed commit");
    } else if (!fail.ok()) {
      p.status = fail;
    } else {
      p.status = memory_.Commit(*p.writes);
    }
    if (p.writes->outcome != nullptr) p.writes->outcome->Set(p.status.ok());
    if (hold) {
      held_.push_back(std::move(p));
      return;
    }
    std::move(p.done)(p.status);
  }
  // Runs the `done` held last.
  void AnswerLastHeld() {
    ASSERT_FALSE(held_.empty());
    Pending p = std::move(held_.back());
    held_.pop_back();
    std::move(p.done)(p.status);
  }
  size_t queued() const { return queue_.size(); }
  InMemoryCounterStore& memory() { return memory_; }

 private:
  struct Pending {
    WriteSet* writes;
    CommitDone done;
    absl::Status status;
  };
  InMemoryCounterStore memory_;
  std::deque<Pending> queue_;
  std::deque<Pending> held_;
};

}  // namespace gatehouse::testing

#endif  // GATEHOUSE_TESTS_TESTING_ORDERED_COUNTER_STORE_H_
