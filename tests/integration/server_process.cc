#include "tests/integration/server_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace gatehouse::testing {
namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

pid_t Spawn(const std::vector<std::string>& argv, const std::string& out_path,
            const std::string& err_path) {
  pid_t pid = fork();
  if (pid != 0) return pid;
  int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  dup2(out, 1);
  dup2(err, 2);
  // The test runner may block signals; the server needs its defaults.
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  std::vector<char*> args;
  for (const std::string& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  execv(args[0], args.data());
  _exit(127);
}

}  // namespace

ServerProcess::ServerProcess(std::vector<std::string> args)
    : args_(std::move(args)) {}

ServerProcess::~ServerProcess() {
  if (pid_ > 0) Kill();
}

bool ServerProcess::Start() { return StartOn(0); }

bool ServerProcess::Restart() {
  if (pid_ > 0 || port_ <= 0) return false;
  return StartOn(port_);
}

bool ServerProcess::StartOn(int port) {
  const std::string port_file = scratch_.path() + "/port";
  std::filesystem::remove(port_file);
  std::vector<std::string> argv = {
      GATEHOUSE_BIN, "--listen=127.0.0.1:" + std::to_string(port),
      "--port_file=" + port_file, "--metrics_listen=127.0.0.1:0",
      "--metrics_port_file=" + scratch_.path() + "/metrics_port"};
  argv.insert(argv.end(), args_.begin(), args_.end());
  pid_ = Spawn(argv, scratch_.path() + "/stdout", scratch_.path() + "/stderr");
  const auto give_up =
      std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < give_up) {
    int status;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return false;
    }
    const std::string text = ReadAll(port_file);
    if (!text.empty()) {
      port_ = std::atoi(text.c_str());
      metrics_port_ =
          std::atoi(ReadAll(scratch_.path() + "/metrics_port").c_str());
      return port_ > 0;
    }
    // Polling for a child process's readiness, not waiting for time.
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

int ServerProcess::Stop() {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void ServerProcess::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  int status;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

void ServerProcess::Signal(int sig) {
  if (pid_ > 0) kill(pid_, sig);
}

std::string ServerProcess::stderr_text() const {
  return ReadAll(scratch_.path() + "/stderr");
}

CommandResult RunCommand(const std::vector<std::string>& argv) {
  TempDir dir;
  const std::string out = dir.path() + "/out", err = dir.path() + "/err";
  pid_t pid = Spawn(argv, out, err);
  int status = 0;
  waitpid(pid, &status, 0);
  CommandResult result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  result.out = ReadAll(out);
  result.err = ReadAll(err);
  return result;
}

}  // namespace gatehouse::testing
