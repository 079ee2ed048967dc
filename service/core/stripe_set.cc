#include "service/core/stripe_set.h"

#include <utility>
#include <vector>

#include "absl/synchronization/notification.h"

namespace gatehouse {

struct StripeSet::Waiter {
  std::vector<size_t> stripes;
  // The first of `stripes` not yet held.
  size_t next = 0;
  Then then;
  // The next waiter in the queue of the stripe this one waits for.
  Waiter* next_waiter = nullptr;
  // AcquireBlocking's: runs at once even while this thread resumes others.
  bool blocking = false;
};

namespace {

// What this thread resumes: whether it is running a continuation, and the
// ones to run once that returns (first in, first out), so that a
// continuation that releases stripes (and so resumes more) does not nest
// them on the stack. Kept for the thread's life: no allocation per request.
struct Resuming {
  bool running = false;
  std::vector<StripeSet::Then> deferred;
};
thread_local Resuming resuming;

// Runs `then` and every continuation it defers, in turn; or, when this
// thread is already running one, defers `then` to it.
void Resume(StripeSet::Then then) {
  if (resuming.running) {
    resuming.deferred.push_back(std::move(then));
    return;
  }
  resuming.running = true;
  std::move(then)();
  // By index: running one may defer more, which may reallocate the vector.
  for (size_t i = 0; i < resuming.deferred.size(); ++i) {
    StripeSet::Then next = std::move(resuming.deferred[i]);
    std::move(next)();
  }
  resuming.deferred.clear();
  // A burst's worth is not kept.
  if (resuming.deferred.capacity() > 1024) resuming.deferred.shrink_to_fit();
  resuming.running = false;
}

}  // namespace

StripeSet::StripeSet(size_t count)
    : count_(count), stripes_(new Stripe[count]) {}

void StripeSet::Acquire(std::vector<size_t> stripes, Then then) {
  auto* w = new Waiter{std::move(stripes), 0, std::move(then), nullptr, false};
  Continue(w);
}

void StripeSet::AcquireBlocking(const std::vector<size_t>& stripes) {
  absl::Notification held;
  auto* w = new Waiter{stripes, 0, [&held] { held.Notify(); }, nullptr, true};
  Continue(w);
  held.WaitForNotification();
}

void StripeSet::Continue(Waiter* w) {
  while (w->next < w->stripes.size()) {
    Stripe& s = stripes_[w->stripes[w->next]];
    absl::MutexLock lock(&s.mu);
    if (s.held) {
      // Resumed by the Release() that hands this stripe over.
      w->next_waiter = nullptr;
      if (s.last == nullptr) {
        s.first = w;
      } else {
        s.last->next_waiter = w;
      }
      s.last = w;
      return;
    }
    s.held = true;
    ++w->next;
  }
  Then then = std::move(w->then);
  const bool blocking = w->blocking;
  delete w;
  if (blocking) {
    std::move(then)();
  } else {
    Resume(std::move(then));
  }
}

void StripeSet::Release(const std::vector<size_t>& stripes) {
  std::vector<Waiter*> resumed;
  for (size_t index : stripes) {
    Stripe& s = stripes_[index];
    absl::MutexLock lock(&s.mu);
    if (s.first == nullptr) {
      s.held = false;
      continue;
    }
    // Handed over still held: no one else can take it in between.
    Waiter* w = s.first;
    s.first = w->next_waiter;
    if (s.first == nullptr) s.last = nullptr;
    ++w->next;
    resumed.push_back(w);
  }
  for (Waiter* w : resumed) Continue(w);
}

}  // namespace gatehouse
