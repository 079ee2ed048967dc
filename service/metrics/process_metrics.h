#ifndef GATEHOUSE_SERVICE_METRICS_PROCESS_METRICS_H_
#define GATEHOUSE_SERVICE_METRICS_PROCESS_METRICS_H_

#include <optional>

#include "service/metrics/registry.h"

namespace gatehouse::metrics {

// Registers the standard Prometheus process gauges, read from /proc at
// scrape time: process_resident_memory_bytes, process_open_fds and
// process_start_time_seconds. A gauge whose /proc file cannot be read at
// registration (not Linux) gets no callback, so it is left out of scrapes
// rather than reported as 0; a later read failure reports NaN.
void RegisterProcessMetrics(Registry* registry);

// The readers behind those gauges; nullopt when /proc cannot say. Exposed
// for tests.
std::optional<double> ReadResidentMemoryBytes();
std::optional<double> ReadOpenFds();
std::optional<double> ReadStartTimeSeconds();

}  // namespace gatehouse::metrics

#endif  // GATEHOUSE_SERVICE_METRICS_PROCESS_METRICS_H_
