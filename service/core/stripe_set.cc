#include "service/core/stripe_set.h"

#include <utility>

#include "absl/synchronization/notification.h"

namespace gatehouse {

struct StripeSet::Waiter {
  std::vector<size_t> stripes;
  // The first of `stripes` not yet held.
  size_t next = 0;
  Then then;
  // The next waiter in the queue of the stripe this one waits for.
  Waiter* next_waiter = nullptr;
};

StripeSet::StripeSet(size_t count)
    : count_(count), stripes_(new Stripe[count]) {}

void StripeSet::Acquire(std::vector<size_t> stripes, Then then) {
  auto* w = new Waiter{std::move(stripes), 0, std::move(then), nullptr};
  Continue(w);
}

void StripeSet::AcquireBlocking(const std::vector<size_t>& stripes) {
  absl::Notification held;
  Acquire(stripes, [&held] { held.Notify(); });
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
  delete w;
  std::move(then)();
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
