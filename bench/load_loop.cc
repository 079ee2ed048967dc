#include "bench/load_loop.h"

#include <algorithm>
#include <atomic>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

namespace gatehouse::bench {
namespace {

using Clock = std::chrono::steady_clock;

struct Slot {
  SlotState state;
  SteadyTime due;  // When the call was due (paced) or sent.
};

struct Shared {
  SteadyTime measure_start;
  SteadyTime end;
  std::atomic<int> running{0};
  std::mutex mu;
  LoadResult total;
};

void RunThread(const LoadOptions& options, int index, int slots,
               Workload& workload, Transport& transport, Shared& shared) {
  std::mt19937_64 rng(0x9e3779b97f4a7c15ull * (index + 1));
  std::vector<Slot> slot(slots);
  std::deque<int> idle;
  for (int i = 0; i < slots; ++i) idle.push_back(i);
  const double rate = options.rate / options.threads;
  const auto interval = rate > 0
                            ? std::chrono::duration_cast<Clock::duration>(
                                  std::chrono::duration<double>(1.0 / rate))
                            : Clock::duration::zero();
  SteadyTime next_due = Clock::now();
  LoadResult local;
  std::vector<Completion> done;
  int in_flight = 0;
  for (;;) {
    SteadyTime now = Clock::now();
    const bool sending = now < shared.end && !workload.Exhausted();
    while (sending && !idle.empty() && (rate <= 0 || next_due <= now)) {
      if (workload.Exhausted()) break;
      const int s = idle.front();
      idle.pop_front();
      slot[s].due = rate > 0 ? next_due : now;
      next_due += interval;
      transport.Start(s, workload.Next(slot[s].state, rng));
      ++in_flight;
    }
    if (!sending && in_flight == 0) break;
    SteadyTime wait_until =
        sending ? shared.end : now + std::chrono::seconds(5);
    if (sending && rate > 0 && !idle.empty()) {
      wait_until = std::min(wait_until, next_due);
    }
    done.clear();
    transport.Poll(wait_until, &done);
    if (!sending && done.empty() && Clock::now() >= wait_until) break;
    now = Clock::now();
    for (const Completion& c : done) {
      --in_flight;
      Slot& s = slot[c.slot];
      idle.push_back(c.slot);
      if (now < shared.measure_start || now > shared.end) continue;
      ++local.calls;
      if (!c.ok) {
        ++local.errors;
        if (local.first_error.empty()) local.first_error = c.error;
        continue;
      }
      local.decisions += c.decisions;
      local.denied += c.denied;
      local.latency.Record(
          std::chrono::duration_cast<std::chrono::nanoseconds>(now - s.due)
              .count());
    }
  }
  std::lock_guard<std::mutex> lock(shared.mu);
  shared.total.calls += local.calls;
  shared.total.errors += local.errors;
  shared.total.decisions += local.decisions;
  shared.total.denied += local.denied;
  if (shared.total.first_error.empty()) {
    shared.total.first_error = local.first_error;
  }
  shared.total.latency.Merge(local.latency);
}

}  // namespace

LoadResult RunLoad(
    const LoadOptions& options, Workload& workload,
    const std::function<std::unique_ptr<Transport>(int)>& make_transport) {
  Shared shared;
  const SteadyTime start = Clock::now();
  shared.measure_start = start + absl::ToChronoNanoseconds(options.warmup);
  shared.end =
      shared.measure_start + absl::ToChronoNanoseconds(options.duration);
  std::vector<std::unique_ptr<Transport>> transports;
  for (int t = 0; t < options.threads; ++t) {
    transports.push_back(make_transport(t));
  }
  std::vector<std::thread> threads;
  shared.running = options.threads;
  for (int t = 0; t < options.threads; ++t) {
    // Slots split as evenly as possible.
    const int slots = options.inflight / options.threads +
                      (t < options.inflight % options.threads ? 1 : 0);
    threads.emplace_back([&, t, slots] {
      RunThread(options, t, std::max(1, slots), workload, *transports[t],
                shared);
      --shared.running;
    });
  }
  auto sleep_until = [&](SteadyTime when) {
    while (shared.running > 0 && Clock::now() < when) {
      std::this_thread::sleep_for(std::min<Clock::duration>(
          when - Clock::now(), std::chrono::milliseconds(5)));
    }
  };
  sleep_until(shared.measure_start);
  const SteadyTime measured_from = Clock::now();
  if (options.on_measure_start) options.on_measure_start();
  sleep_until(shared.end);
  const SteadyTime measured_to = std::min(Clock::now(), shared.end);
  if (options.on_measure_end) options.on_measure_end();
  for (std::thread& t : threads) t.join();
  transports.clear();
  shared.total.seconds =
      std::chrono::duration<double>(measured_to - measured_from).count();
  return std::move(shared.total);
}

}  // namespace gatehouse::bench
