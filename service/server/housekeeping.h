#ifndef GATEHOUSE_SERVICE_SERVER_HOUSEKEEPING_H_
#define GATEHOUSE_SERVICE_SERVER_HOUSEKEEPING_H_

#include <functional>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "service/clock/clock.h"
#include "service/core/audit_log.h"
#include "service/core/store_maintenance.h"

namespace gatehouse {

struct HousekeepingOptions {
  // Audit retention runs at once and then every `retention_interval`.
  AuditRetention retention;
  absl::Duration retention_interval = absl::Minutes(1);
  // The config files are checked every `watch_interval`; 0 disables it.
  absl::Duration watch_interval = absl::Seconds(2);
  // How often RunDue() is called by the thread Start() runs.
  absl::Duration tick = absl::Seconds(1);
};

// The server's periodic work: storage health (recovering a store that
// stopped taking writes) on every tick, config file watching and audit
// retention at their intervals. Times come from the injected clock, so
// RunDue() can be driven by a simulated one in tests; Start() runs it on a
// thread of its own every `tick` of real time.
//
// Thread-safe. Does not own the clock, the store or its audit log, which
// must outlive it.
class Housekeeping {
 public:
  struct Hooks {
    // Re-reads the config files (each parsed only if it changed).
    std::function<void()> watch_config;
    // Told after every storage check whether the store takes writes.
    std::function<void(bool writable)> storage_state;
  };

  // `audit_log` is the store's audit log, read for the retention log line.
  Housekeeping(const Clock* clock, StoreMaintenance* store,
               const AuditLog* audit_log, HousekeepingOptions options,
               Hooks hooks);
  ~Housekeeping();  // Stops the thread if running.
  Housekeeping(const Housekeeping&) = delete;
  Housekeeping& operator=(const Housekeeping&) = delete;

  // Does whatever is due at the clock's now. Not concurrent with itself.
  void RunDue();

  // Runs RunDue() every options.tick until Stop(). At most once.
  void Start();
  // Stops the thread and waits for it; idempotent.
  void Stop();

 private:
  void CheckStorage();
  void ApplyRetention();

  // Constant after construction.
  const Clock* const clock_;
  StoreMaintenance* const store_;
  const AuditLog* const audit_log_;
  const HousekeepingOptions options_;
  const Hooks hooks_;

  absl::Mutex run_mu_;
  absl::Time next_watch_ ABSL_GUARDED_BY(run_mu_);
  absl::Time next_retention_ ABSL_GUARDED_BY(run_mu_) = absl::InfinitePast();
  // Whether the last check found the store writable (logs on a change).
  bool writable_ ABSL_GUARDED_BY(run_mu_) = true;

  absl::Notification stopping_;
  std::thread thread_;
};

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_SERVER_HOUSEKEEPING_H_
