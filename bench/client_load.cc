#include "bench/client_load.h"

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

namespace gatehouse::bench {
namespace {

using Clock = std::chrono::steady_clock;

template <typename Request>
Request ToRequest(const CallSpec& spec) {
  Request request;
  for (const SubjectSpec& s : spec.subjects) {
    v1::Subject* subject = request.add_subjects();
    subject->set_policy(s.policy);
    for (const auto& [dimension, value] : s.key) {
      (*subject->mutable_key())[dimension] = value;
    }
  }
  return request;
}

Client::Result Call(const Client& client, const CallSpec& spec) {
  switch (spec.op) {
    case Op::kCheck:
      return client.Check(ToRequest<v1::CheckRequest>(spec));
    case Op::kPeek:
      return client.Peek(ToRequest<v1::PeekRequest>(spec));
    case Op::kRecord:
      return client.Record(ToRequest<v1::RecordRequest>(spec));
    case Op::kReset:
      return client.Reset(ToRequest<v1::ResetRequest>(spec));
    case Op::kHealth:
    case Op::kShouldRateLimit:
      break;
  }
  Client::Result unsupported;
  unsupported.status =
      grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                   "no health check or ShouldRateLimit through Client");
  return unsupported;
}

}  // namespace

LoadResult RunClientLoad(const LoadOptions& options, Workload& workload,
                         const Client& client) {
  const Clock::time_point start = Clock::now();
  const Clock::time_point measure_start =
      start + absl::ToChronoNanoseconds(options.warmup);
  const Clock::time_point end =
      measure_start + absl::ToChronoNanoseconds(options.duration);
  std::mutex mu;
  LoadResult total;
  std::atomic<bool> started{false}, ended{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < options.inflight; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(0x9e3779b97f4a7c15ull * (t + 1));
      SlotState slot;
      LoadResult local;
      while (Clock::now() < end && !workload.Exhausted()) {
        const CallSpec spec = workload.Next(slot, rng);
        const Clock::time_point sent = Clock::now();
        const Client::Result result = Call(client, spec);
        const Clock::time_point now = Clock::now();
        if (now < measure_start || now > end) continue;
        ++local.calls;
        if (!result.status.ok() || result.degraded) {
          ++local.errors;
          if (local.first_error.empty()) {
            local.first_error = result.status.error_message();
          }
          continue;
        }
        local.decisions += spec.subjects.size();
        for (const v1::Verdict& v : result.verdicts) {
          if (v.decision() == v1::Verdict::DENY) ++local.denied;
        }
        local.latency.Record(
            std::chrono::duration_cast<std::chrono::nanoseconds>(now - sent)
                .count());
      }
      std::lock_guard<std::mutex> lock(mu);
      total.calls += local.calls;
      total.errors += local.errors;
      total.decisions += local.decisions;
      total.denied += local.denied;
      if (total.first_error.empty()) total.first_error = local.first_error;
      total.latency.Merge(local.latency);
    });
  }
  std::this_thread::sleep_until(measure_start);
  const Clock::time_point measured_from = Clock::now();
  if (options.on_measure_start) options.on_measure_start();
  std::this_thread::sleep_until(end);
  if (options.on_measure_end) options.on_measure_end();
  for (std::thread& t : threads) t.join();
  total.seconds = std::chrono::duration<double>(end - measured_from).count();
  return total;
}

}  // namespace gatehouse::bench
