#include "service/metrics/process_metrics.h"

#include <dirent.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace gatehouse::metrics {
namespace {

// strtod without std::stod's exceptions; nullopt unless all of `text` is a
// number.
std::optional<double> ParseNumber(const std::string& text) {
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (end == text.c_str() || *end != '\0') return std::nullopt;
  return value;
}

// The fields of /proc/self/stat after the command name, which is in
// parentheses and may itself contain spaces and parentheses.
std::optional<std::string> ReadStatFieldsAfterComm() {
  std::ifstream file("/proc/self/stat");
  std::string stat;
  if (!std::getline(file, stat)) return std::nullopt;
  const size_t close = stat.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  return stat.substr(close + 1);
}

// Seconds since the epoch at boot, from the btime line of /proc/stat.
std::optional<double> ReadBootTimeSeconds() {
  std::ifstream file("/proc/stat");
  std::string line;
  while (std::getline(file, line)) {
    if (line.rfind("btime ", 0) == 0) return ParseNumber(line.substr(6));
  }
  return std::nullopt;
}

void SetCallbackIfReadable(Family<CallbackGauge>& family,
                           std::optional<double> (*read)()) {
  if (!read().has_value()) return;
  family.WithLabels({}).SetCallback(
      [read] { return read().value_or(std::nan("")); });
}

}  // namespace

std::optional<double> ReadResidentMemoryBytes() {
  // statm: size resident shared text lib data dt, in pages.
  std::ifstream file("/proc/self/statm");
  long long size = 0, resident = 0;
  if (!(file >> size >> resident)) return std::nullopt;
  return static_cast<double>(resident) *
         static_cast<double>(sysconf(_SC_PAGESIZE));
}

std::optional<double> ReadOpenFds() {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return std::nullopt;
  int count = 0;
  while (const dirent* entry = readdir(dir)) {
    if (entry->d_name[0] != '.') ++count;
  }
  closedir(dir);
  // The directory stream's own descriptor is not one of ours.
  return count - 1;
}

std::optional<double> ReadStartTimeSeconds() {
  const std::optional<std::string> fields = ReadStatFieldsAfterComm();
  const std::optional<double> boot = ReadBootTimeSeconds();
  if (!fields.has_value() || !boot.has_value()) return std::nullopt;
  // starttime is field 22 of stat; after the command name (field 2) it is
  // the 20th token, in clock ticks since boot.
  std::istringstream tokens(*fields);
  std::string token;
  for (int i = 0; i < 20; ++i) {
    if (!(tokens >> token)) return std::nullopt;
  }
  const std::optional<double> ticks = ParseNumber(token);
  if (!ticks.has_value()) return std::nullopt;
  return *boot + *ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

void RegisterProcessMetrics(Registry* registry) {
  SetCallbackIfReadable(
      registry->AddCallbackGauge("process_resident_memory_bytes",
                                 "Resident memory size in bytes."),
      ReadResidentMemoryBytes);
  SetCallbackIfReadable(
      registry->AddCallbackGauge("process_open_fds",
                                 "Number of open file descriptors."),
      ReadOpenFds);
  // Constant for the life of the process: read it once.
  Family<CallbackGauge>& start_time = registry->AddCallbackGauge(
      "process_start_time_seconds",
      "Start time of the process since unix epoch in seconds.");
  if (const std::optional<double> start = ReadStartTimeSeconds()) {
    start_time.WithLabels({}).SetCallback([value = *start] { return value; });
  }
}

}  // namespace gatehouse::metrics
