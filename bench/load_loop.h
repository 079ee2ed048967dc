#ifndef GATEHOUSE_BENCH_LOAD_LOOP_H_
#define GATEHOUSE_BENCH_LOAD_LOOP_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/time/time.h"
#include "bench/latency_histogram.h"
#include "bench/transport.h"
#include "bench/workload.h"

namespace gatehouse::bench {

struct LoadOptions {
  int threads = 1;
  // Calls in flight at once, over all threads (closed loop: a slot sends
  // its next call when the previous one completes).
  int inflight = 64;
  absl::Duration warmup = absl::Seconds(2);
  absl::Duration duration = absl::Seconds(10);
  // When > 0, calls are paced to this many per second overall (still at
  // most `inflight` at once), and latency counts from when a call was due,
  // not when it was sent, so a stalled server is not hidden (no
  // coordinated omission).
  double rate = 0;
  // Called once the warm-up is over and once the measurement ends (from
  // the main thread), e.g. to sample the server's CPU.
  std::function<void()> on_measure_start;
  std::function<void()> on_measure_end;
};

struct LoadResult {
  double seconds = 0;  // Length of the measurement.
  uint64_t calls = 0;
  uint64_t errors = 0;
  uint64_t decisions = 0;
  uint64_t denied = 0;
  std::string first_error;
  LatencyHistogram latency;  // Successful calls, nanoseconds.
};

// Drives `workload` through one transport per thread (made by
// `make_transport(thread_index)`) for warmup + duration, or until a
// sequential workload runs out of keys; counts what completes after the
// warm-up.
LoadResult RunLoad(
    const LoadOptions& options, Workload& workload,
    const std::function<std::unique_ptr<Transport>(int)>& make_transport);

}  // namespace gatehouse::bench

#endif  // GATEHOUSE_BENCH_LOAD_LOOP_H_
