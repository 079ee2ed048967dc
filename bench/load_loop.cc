#include "bench/load_loop.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <random>
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

// Adds a load thread's own counts to the run's.
void AddTo(Shared& shared, const LoadResult& local) {
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

// Counts completions that arrived at `now` for slots that were due at
// `due`.
void Count(const Completion& c, SteadyTime due, SteadyTime now,
           const Shared& shared, LoadResult& local) {
  if (now < shared.measure_start || now > shared.end) return;
  ++local.calls;
  if (!c.ok) {
    ++local.errors;
    if (local.first_error.empty()) local.first_error = c.error;
    return;
  }
  local.decisions += c.decisions;
  local.denied += c.denied;
  local.latency.Record(
      std::chrono::duration_cast<std::chrono::nanoseconds>(now - due).count());
}

// A paced load thread for a transport that takes calls while it polls: a
// sender thread starts each call when it is due, sleeping in between on
// the system's timer (tens of microseconds late at most), while this
// thread waits for completions. Waiting for the next due time inside Poll
// instead, as RunThread does, would leave calls up to a millisecond late,
// since gRPC rounds a completion queue's deadline up to whole
// milliseconds, and count that lateness as the server's latency.
void RunPacedThread(const LoadOptions& options, int index, int slots,
                    Workload& workload, Transport& transport, Shared& shared) {
  const auto interval = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(options.threads / options.rate));
  std::mutex mu;
  std::condition_variable slot_freed;
  std::vector<Slot> slot(slots);
  std::deque<int> idle;
  for (int i = 0; i < slots; ++i) idle.push_back(i);
  int in_flight = 0;
  bool sent_all = false;

  std::thread sender([&] {
    std::mt19937_64 rng(0x9e3779b97f4a7c15ull * (index + 1));
    SteadyTime next_due = Clock::now();
    for (;;) {
      std::this_thread::sleep_until(next_due);
      if (Clock::now() >= shared.end || workload.Exhausted()) break;
      int s = 0;
      {
        // A call due while every slot is busy waits for one; its latency
        // still counts from when it was due.
        std::unique_lock<std::mutex> lock(mu);
        if (!slot_freed.wait_until(lock, shared.end,
                                   [&] { return !idle.empty(); })) {
          break;
        }
        s = idle.front();
        idle.pop_front();
        slot[s].due = next_due;
        ++in_flight;
      }
      transport.Start(s, workload.Next(slot[s].state, rng));
      next_due += interval;
    }
    std::lock_guard<std::mutex> lock(mu);
    sent_all = true;
  });

  LoadResult local;
  std::vector<Completion> done;
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (sent_all && in_flight == 0) break;
    }
    // Completions wake the poll at once; its deadline only bounds how late
    // the loop notices that the sender has finished.
    done.clear();
    transport.Poll(Clock::now() + std::chrono::milliseconds(20), &done);
    const SteadyTime now = Clock::now();
    for (const Completion& c : done) {
      SteadyTime due;
      {
        std::lock_guard<std::mutex> lock(mu);
        --in_flight;
        idle.push_back(c.slot);
        due = slot[c.slot].due;
      }
      slot_freed.notify_one();
      Count(c, due, now, shared, local);
    }
  }
  sender.join();
  AddTo(shared, local);
}

void RunThread(const LoadOptions& options, int index, int slots,
               Workload& workload, Transport& transport, Shared& shared) {
  if (options.rate > 0 && transport.StartsWhilePolling()) {
    RunPacedThread(options, index, slots, workload, transport, shared);
    return;
  }
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
      idle.push_back(c.slot);
      Count(c, slot[c.slot].due, now, shared, local);
    }
  }
  AddTo(shared, local);
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
