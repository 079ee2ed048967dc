#include "client/circuit_breaker.h"

#include <algorithm>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace gatehouse {

CircuitBreaker::CircuitBreaker(Options options, const Clock* clock)
    : options_(std::move(options)), clock_(clock), random_(options_.seed) {}

absl::StatusOr<CircuitBreaker::Ticket> CircuitBreaker::Admit() {
  absl::MutexLock lock(&mu_);
  if (!open_) return Ticket{/*probe=*/false, epoch_};
  const absl::Time now = clock_->Now();
  const bool cooled_down = now >= probe_at_ || now < opened_at_;
  if (cooled_down && !probe_in_flight_) {
    probe_in_flight_ = true;
    return Ticket{/*probe=*/true, epoch_};
  }
  ++failed_fast_;
  const std::string why =
      absl::StrCat("gatehouse client cooling down after ",
                   consecutive_failures_, " consecutive failures; ");
  if (probe_in_flight_) {
    return absl::UnavailableError(absl::StrCat(why, "a probe call is out"));
  }
  return absl::UnavailableError(absl::StrCat(
      why, "next probe in ", absl::FormatDuration(probe_at_ - now)));
}

void CircuitBreaker::Report(const Ticket& ticket, Outcome outcome) {
  absl::MutexLock lock(&mu_);
  switch (outcome) {
    case Outcome::kSuccess:
      // Whenever it was admitted, the service has answered since.
      Close();
      return;
    case Outcome::kFailure:
      // Calls admitted before the breaker last opened or closed were
      // counted already, or predate a success.
      if (ticket.epoch != epoch_) return;
      ++consecutive_failures_;
      if (ticket.probe ||
          consecutive_failures_ >= options_.failures_before_cooldown) {
        Open();
      }
      return;
    case Outcome::kNeutral:
      // A probe that proved nothing: the next call probes instead.
      if (ticket.probe && ticket.epoch == epoch_) probe_in_flight_ = false;
      return;
  }
}

CircuitBreaker::Stats CircuitBreaker::GetStats() const {
  absl::MutexLock lock(&mu_);
  Stats stats;
  stats.open = open_;
  stats.consecutive_failures = consecutive_failures_;
  stats.cooldowns = cooldowns_;
  stats.failed_fast = failed_fast_;
  return stats;
}

void CircuitBreaker::Open() {
  absl::Duration cooldown = options_.cooldown_initial;
  for (int i = 0; i < cooldowns_in_a_row_ && cooldown < options_.cooldown_max;
       ++i) {
    cooldown *= 2;
  }
  cooldown = std::min(cooldown, options_.cooldown_max);
  // Shortened, never lengthened, so cooldown_max is a real bound.
  cooldown *= 1.0 - options_.jitter *
                        std::uniform_real_distribution<double>(0, 1)(random_);

  ++cooldowns_in_a_row_;
  ++cooldowns_;
  ++epoch_;
  open_ = true;
  probe_in_flight_ = false;
  opened_at_ = clock_->Now();
  probe_at_ = opened_at_ + cooldown;
}

void CircuitBreaker::Close() {
  if (open_) ++epoch_;
  open_ = false;
  probe_in_flight_ = false;
  consecutive_failures_ = 0;
  cooldowns_in_a_row_ = 0;
}

}  // namespace gatehouse
