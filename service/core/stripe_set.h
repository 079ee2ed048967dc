#ifndef GATEHOUSE_SERVICE_CORE_STRIPE_SET_H_
#define GATEHOUSE_SERVICE_CORE_STRIPE_SET_H_

#include <cstddef>
#include <memory>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"

namespace gatehouse {

// Striped exclusive locks that a caller can hold across an asynchronous
// step: acquiring never blocks a thread. A request that finds a stripe held
// queues behind it (FIFO) and is resumed, on the thread that releases it,
// once every stripe it asked for is its own. Released by whichever thread
// finishes the work, not necessarily the one that acquired.
//
// Requests take their stripes in ascending order, so none can wait for
// another in a cycle. Thread-safe.
class StripeSet {
 public:
  using Then = absl::AnyInvocable<void() &&>;

  explicit StripeSet(size_t count);
  StripeSet(const StripeSet&) = delete;
  StripeSet& operator=(const StripeSet&) = delete;

  size_t count() const { return count_; }

  // Takes every stripe of `stripes` (ascending, no duplicates, each <
  // count()), then runs `then`: at once on this thread when none is held,
  // else on the thread whose Release() hands over the last one. A `then`
  // that becomes runnable while its thread runs another (one that acquires
  // or releases stripes) runs on that thread right after it, not nested in
  // it: a chain of requests handing stripes on to each other does not grow
  // the stack.
  void Acquire(std::vector<size_t> stripes, Then then);
  // Acquire() that waits on this thread until every stripe is held.
  void AcquireBlocking(const std::vector<size_t>& stripes);
  // Gives back `stripes`, all held by the caller's request; each goes to
  // its first waiter, if any. Waiters that now hold all of theirs are
  // resumed on this thread, after every stripe is handed over: before
  // Release returns, or, when called from a resumed `then`, after it.
  void Release(const std::vector<size_t>& stripes);

  // One stripe held by this thread while it lives (AcquireBlocking).
  class Hold {
   public:
    Hold(StripeSet* set, size_t stripe) : set_(set), stripes_{stripe} {
      set_->AcquireBlocking(stripes_);
    }
    ~Hold() { set_->Release(stripes_); }
    Hold(const Hold&) = delete;
    Hold& operator=(const Hold&) = delete;

   private:
    StripeSet* const set_;
    const std::vector<size_t> stripes_;
  };

 private:
  struct Waiter;
  // 32 bytes: a set of tens of thousands of stripes stays small.
  struct Stripe {
    absl::Mutex mu;
    bool held ABSL_GUARDED_BY(mu) = false;
    // The requests waiting for it, first to last, linked through
    // Waiter::next (a waiter waits for one stripe at a time).
    Waiter* first ABSL_GUARDED_BY(mu) = nullptr;
    Waiter* last ABSL_GUARDED_BY(mu) = nullptr;
  };
  // Takes w's stripes from w->next on; runs (and deletes) w once all are
  // held, or leaves it queued on the first held one.
  void Continue(Waiter* w);

  const size_t count_;
  std::unique_ptr<Stripe[]> stripes_;
};

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_CORE_STRIPE_SET_H_
