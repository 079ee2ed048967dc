#ifndef GATEHOUSE_TESTS_INTEGRATION_SERVER_PROCESS_H_
#define GATEHOUSE_TESTS_INTEGRATION_SERVER_PROCESS_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "tests/testing/temp_dir.h"

namespace gatehouse::testing {

// The real `gatehouse` binary as a child process, on 127.0.0.1 port 0; the
// bound port is read from its --port_file. Not thread-safe.
class ServerProcess {
 public:
  // `args` are extra flags; --listen and --port_file are added here.
  explicit ServerProcess(std::vector<std::string> args);
  ~ServerProcess();  // Kills the server if still running.
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // Starts the server and waits (up to 20s) for its port file. Returns false
  // if it exited or never wrote the port; stderr_text() says why.
  bool Start();
  // After Stop() or Kill(): starts the server again on the port it had, so
  // that existing clients can reconnect. Returns false as Start() does.
  bool Restart();
  // SIGTERM, then waits for exit; returns the exit status (or -1).
  int Stop();
  // SIGKILL, no clean shutdown.
  void Kill();
  // Sends a signal (e.g. SIGHUP).
  void Signal(int sig);

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  // The /metrics HTTP port (0 when disabled).
  int metrics_port() const { return metrics_port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  // What the server wrote on stderr so far.
  std::string stderr_text() const;

 private:
  bool StartOn(int port);

  std::vector<std::string> args_;
  TempDir scratch_;  // port files, stdout, stderr
  pid_t pid_ = -1;
  int port_ = 0;
  int metrics_port_ = 0;
};

// Runs a command to completion, capturing stdout and stderr.
struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};
CommandResult RunCommand(const std::vector<std::string>& argv);

}  // namespace gatehouse::testing

#endif  // GATEHOUSE_TESTS_INTEGRATION_SERVER_PROCESS_H_
