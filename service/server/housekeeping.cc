#include "service/server/housekeeping.h"

#include <utility>

#include "service/logging/json_log.h"

namespace gatehouse {

Housekeeping::Housekeeping(const Clock* clock, StoreMaintenance* store,
                           const AuditLog* audit_log,
                           HousekeepingOptions options, Hooks hooks)
    : clock_(clock),
      store_(store),
      audit_log_(audit_log),
      options_(std::move(options)),
      hooks_(std::move(hooks)),
      next_watch_(clock->Now() + options_.watch_interval) {}

Housekeeping::~Housekeeping() { Stop(); }

void Housekeeping::RunDue() {
  absl::MutexLock lock(&run_mu_);
  CheckStorage();
  const absl::Time now = clock_->Now();
  if (options_.watch_interval > absl::ZeroDuration() && now >= next_watch_) {
    next_watch_ = now + options_.watch_interval;
    if (hooks_.watch_config) hooks_.watch_config();
  }
  if (now >= next_retention_) {
    next_retention_ = now + options_.retention_interval;
    ApplyRetention();
  }
}

void Housekeeping::CheckStorage() {
  if (!store_->writable()) {
    absl::Status recovered = store_->Recover();
    if (!recovered.ok() && writable_) {
      LogJson(spdlog::level::err,
              "storage not writable: calls that write answer UNAVAILABLE, "
              "Peek answers unaudited, health NOT_SERVING",
              {{"error", recovered.ToString()}});
    }
  }
  const bool writable = store_->writable();
  if (writable && !writable_) {
    LogJson(spdlog::level::info, "storage writable again; serving");
  }
  writable_ = writable;
  if (hooks_.storage_state) hooks_.storage_state(writable);
}

void Housekeeping::ApplyRetention() {
  absl::StatusOr<uint64_t> dropped = store_->ApplyRetention(options_.retention);
  if (!dropped.ok()) {
    LogJson(spdlog::level::err, "audit retention failed",
            {{"error", dropped.status().ToString()}});
  } else if (*dropped > 0) {
    LogJson(spdlog::level::info, "audit retention",
            {{"dropped", *dropped}, {"oldest", audit_log_->OldestSequence()}});
  }
}

void Housekeeping::Start() {
  thread_ = std::thread([this] {
    do {
      RunDue();
    } while (!stopping_.WaitForNotificationWithTimeout(options_.tick));
  });
}

void Housekeeping::Stop() {
  if (!stopping_.HasBeenNotified()) stopping_.Notify();
  if (thread_.joinable()) thread_.join();
}

}  // namespace gatehouse
