#ifndef GATEHOUSE_TESTS_METRICS_TEST_SUPPORT_H_
#define GATEHOUSE_TESTS_METRICS_TEST_SUPPORT_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "tests/testing/temp_dir.h"

namespace gatehouse::metrics::testing {

// Kept under this namespace's name for the metrics tests.
using ::gatehouse::testing::TempDir;

struct HttpResponse {
  int status = 0;       // 0 when no response could be read
  std::string headers;  // the status line and header lines, as sent
  std::string body;
  std::string error;  // why status is 0
};

// GET (or another method) over a fresh HTTP/1.0 connection to 127.0.0.1;
// reads until the server closes. Gives up after `timeout_ms`.
HttpResponse HttpRequest(int port, const std::string& method,
                         const std::string& target, int timeout_ms = 5000);
inline HttpResponse HttpGet(int port, const std::string& target) {
  return HttpRequest(port, "GET", target);
}

// Percent-encodes a query-string value.
std::string UrlEncode(const std::string& value);

struct CommandResult {
  int exit_code = -1;  // -1 when killed by a signal or not started
  std::string output;  // stdout and stderr, interleaved
};

// Runs argv[0] (looked up in PATH) to completion with `stdin_path` (or
// /dev/null) as its standard input.
CommandResult RunCommand(const std::vector<std::string>& argv,
                         const std::string& stdin_path = "/dev/null");

// A child process running until Stop() or destruction; stdout and stderr go
// to `log_path`. Not thread-safe.
class ChildProcess {
 public:
  ChildProcess(const std::vector<std::string>& argv,
               const std::string& log_path);
  ~ChildProcess();  // Stop()
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  bool started() const { return pid_ > 0; }
  // True while the child has not exited.
  bool Running();
  // SIGTERM, up to 10 s for it to exit, then SIGKILL; returns the exit code
  // (or -1 when it was killed).
  int Stop();

 private:
  pid_t pid_ = -1;
  int exit_code_ = -1;
};

// The contents of a file ("" if unreadable).
std::string ReadFile(const std::string& path);

}  // namespace gatehouse::metrics::testing

#endif  // GATEHOUSE_TESTS_METRICS_TEST_SUPPORT_H_
