#ifndef GATEHOUSE_BENCH_PROCESS_STATS_H_
#define GATEHOUSE_BENCH_PROCESS_STATS_H_

#include <sys/types.h>

#include <cstdint>

namespace gatehouse::bench {

// What /proc says about a process (the server under load).
struct ProcessSample {
  bool valid = false;
  double cpu_seconds = 0;       // utime + stime.
  uint64_t rss_bytes = 0;       // VmRSS.
  uint64_t peak_rss_bytes = 0;  // VmHWM: since start or ResetPeakRss().
};

ProcessSample SampleProcess(pid_t pid);

// Restarts VmHWM at the current RSS (writes 5 to /proc/PID/clear_refs), so
// a later sample's peak covers one scenario. False when not permitted.
bool ResetPeakRss(pid_t pid);

// CPU seconds used by this process so far.
double SelfCpuSeconds();

}  // namespace gatehouse::bench

#endif  // GATEHOUSE_BENCH_PROCESS_STATS_H_
