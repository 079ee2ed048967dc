// gatehouse: the rate limiter and audit server. Flags to options, the
// server object, and signals: SIGHUP reloads, SIGINT / SIGTERM shut down.

#include <signal.h>

#include <memory>

#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/synchronization/mutex.h"
#include "service/flags.h"
#include "service/logging/json_log.h"
#include "service/server/gatehouse_server.h"

namespace gatehouse {
namespace {

// The signals this process takes, by sigwait only.
sigset_t HandledSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  return signals;
}

int Run() {
  absl::StatusOr<std::unique_ptr<GatehouseServer>> server =
      GatehouseServer::Start(OptionsFromFlags());
  if (!server.ok()) {
    LogJson(spdlog::level::critical, "cannot start",
            {{"error", server.status().ToString()}});
    return 1;
  }
  const sigset_t signals = HandledSignals();
  for (;;) {
    int sig = 0;
    if (sigwait(&signals, &sig) != 0) continue;
    if (sig == SIGHUP) {
      if (!(*server)->Reload()) {
        LogJson(spdlog::level::info,
                "SIGHUP: config files unchanged; nothing to reload");
      }
      continue;
    }
    LogJson(spdlog::level::info, "shutting down", {{"signal", sig}});
    break;
  }
  (*server)->Shutdown();
  return 0;
}

}  // namespace
}  // namespace gatehouse

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "gatehouse --policies=FILE --credentials=FILE --pseudonym_key_file=FILE "
      "[--listen=HOST:PORT] [--data_dir=DIR] [--port_file=FILE]");
  absl::ParseCommandLine(argc, argv);
  // Debian builds Abseil without NDEBUG, which leaves absl::Mutex's
  // deadlock detection on: a global lock-order graph updated on every
  // Lock, which cost the server ~30% of its decisions/s (bench/RESULTS.md).
  // Tests keep it; the server turns it off, as an NDEBUG Abseil does.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  gatehouse::SetUpJsonLogging(
      spdlog::level::from_str(gatehouse::LogLevelFlag()));
  // Block the signals before any thread starts so only sigwait sees them.
  const sigset_t signals = gatehouse::HandledSignals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return gatehouse::Run();
}
