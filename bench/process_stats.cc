#include "bench/process_stats.h"

#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

namespace gatehouse::bench {
namespace {

// "VmHWM:    12345 kB" -> bytes.
uint64_t StatusField(const std::string& status, const std::string& name) {
  const size_t at = status.find(name + ":");
  if (at == std::string::npos) return 0;
  std::istringstream in(status.substr(at + name.size() + 1));
  uint64_t kib = 0;
  in >> kib;
  return kib << 10;
}

}  // namespace

ProcessSample SampleProcess(pid_t pid) {
  ProcessSample sample;
  const std::string dir = "/proc/" + std::to_string(pid);
  std::ifstream stat_file(dir + "/stat");
  std::string stat((std::istreambuf_iterator<char>(stat_file)), {});
  // Fields after the command name (which may hold spaces) start at state.
  const size_t close = stat.rfind(')');
  if (close == std::string::npos) return sample;
  std::istringstream fields(stat.substr(close + 2));
  std::string field;
  uint64_t utime = 0, stime = 0;
  // state(3) ... utime(14) stime(15): 11 fields to skip after state.
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  sample.cpu_seconds = static_cast<double>(utime + stime) / tick;
  std::ifstream status_file(dir + "/status");
  std::string status((std::istreambuf_iterator<char>(status_file)), {});
  sample.rss_bytes = StatusField(status, "VmRSS");
  sample.peak_rss_bytes = StatusField(status, "VmHWM");
  sample.valid = true;
  return sample;
}

bool ResetPeakRss(pid_t pid) {
  std::ofstream out("/proc/" + std::to_string(pid) + "/clear_refs");
  out << "5\n";
  return static_cast<bool>(out.flush());
}

double SelfCpuSeconds() {
  rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_utime.tv_sec + usage.ru_stime.tv_sec +
         (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

}  // namespace gatehouse::bench
