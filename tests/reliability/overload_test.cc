// A flood of several times what the real server may work on at once: beyond
// --max_inflight_calls calls are refused on arrival with RESOURCE_EXHAUSTED
// and count nothing (with --sync_writes, admitted ones wait for their
// fsync; --max_threads bounds gRPC's synchronous threads); admitted calls
// keep a bounded latency; server memory and threads stay bounded; and the
// server answers normally as soon as the flood ends.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <iostream>
#include <limits>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "tests/reliability/reliability_support.h"

namespace gatehouse::testing {
namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr int kMaxInflight = 4;
constexpr int kMaxThreads = 64;
constexpr int kFloodThreads = 96;
constexpr int kClients = 16;
constexpr auto kFloodFor = std::chrono::seconds(4);

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(p * (v.size() - 1))];
}

TEST(OverloadTest, ShedsAtOnceBeyondCapacityAndCountsNothingShed) {
  TempDir dir;
  // Synced commits make each admitted Record slow (an fsync), so the flood
  // is many times what the server can take.
  ReliableServer server(
      dir.path(), dir.path() + "/data",
      {absl::StrCat("--max_inflight_calls=", kMaxInflight),
       absl::StrCat("--max_threads=", kMaxThreads), "--sync_writes"});
  std::string error;
  ASSERT_TRUE(server.Start(&error)) << error;
  const ProcStats idle = ReadProcStats(server.process().pid());

  // Load generators, not well-behaved callers: they must keep calling
  // through the shedding, where a Client would normally cool down.
  ClientOptions flood_options;
  flood_options.target = server.address();
  flood_options.token = kReliabilityToken;
  flood_options.deadline = absl::Seconds(10);
  flood_options.failures_before_cooldown = std::numeric_limits<int>::max();
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(Client::Create(flood_options));
  }
  Ledger ledger;
  absl::Mutex mu;
  std::vector<double> admitted_ms, shed_ms;
  std::atomic<int> other_errors{0};
  std::atomic<bool> stop{false};
  ProcStats peak;
  std::thread sampler([&] {
    while (!stop.load()) {
      const ProcStats s = ReadProcStats(server.process().pid());
      peak.rss_bytes = std::max(peak.rss_bytes, s.rss_bytes);
      peak.threads = std::max(peak.threads, s.threads);
      peak.fds = std::max(peak.fds, s.fds);
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });
  std::vector<std::thread> flood;
  const auto end = SteadyClock::now() + kFloodFor;
  for (int t = 0; t < kFloodThreads; ++t) {
    flood.emplace_back([&, t] {
      Client& client = *clients[t % kClients];
      const std::string key = absl::StrCat("flood-", t);
      std::vector<double> admitted, shed;
      while (SteadyClock::now() < end) {
        v1::RecordRequest request;
        *request.add_subjects() = Client::MakeSubject("counter", {{"id", key}});
        const auto start = SteadyClock::now();
        const Client::Result r = client.Record(request);
        const double ms = std::chrono::duration<double, std::milli>(
                              SteadyClock::now() - start)
                              .count();
        if (r.status.ok()) {
          ledger.Acknowledged(key, 1, r.verdicts[0].audit_sequence());
          admitted.push_back(ms);
        } else if (r.status.error_code() ==
                   grpc::StatusCode::RESOURCE_EXHAUSTED) {
          shed.push_back(ms);
        } else {
          ++other_errors;
          ADD_FAILURE() << r.status.error_code() << " "
                        << r.status.error_message();
        }
      }
      absl::MutexLock lock(&mu);
      admitted_ms.insert(admitted_ms.end(), admitted.begin(), admitted.end());
      shed_ms.insert(shed_ms.end(), shed.begin(), shed.end());
    });
  }
  for (std::thread& t : flood) t.join();
  stop = true;
  sampler.join();

  std::cout << "overload: " << kFloodThreads << " callers against "
            << kMaxInflight << " in flight: " << admitted_ms.size()
            << " admitted (p50 " << Percentile(admitted_ms, 0.5) << " ms, p99 "
            << Percentile(admitted_ms, 0.99) << " ms), " << shed_ms.size()
            << " shed (p50 " << Percentile(shed_ms, 0.5) << " ms, p99 "
            << Percentile(shed_ms, 0.99) << " ms); server threads "
            << idle.threads << " -> peak " << peak.threads << ", RSS "
            << (idle.rss_bytes >> 20) << " -> peak " << (peak.rss_bytes >> 20)
            << " MiB\n";
  EXPECT_EQ(other_errors.load(), 0);
  ASSERT_GT(shed_ms.size(), 0u) << "the flood never exceeded capacity";
  ASSERT_GT(admitted_ms.size(), 0u);
  // Shed at once, not after queueing behind admitted calls; admitted calls
  // bounded. Generous bounds: CI machines are slow and shared.
  EXPECT_LT(Percentile(shed_ms, 0.5), Percentile(admitted_ms, 0.5) + 50);
  EXPECT_LT(Percentile(shed_ms, 0.99), 1000);
  EXPECT_LT(Percentile(admitted_ms, 0.99), 3000);
  // Bounded by configuration, not by the flood.
  EXPECT_LE(peak.threads, idle.threads + kMaxThreads);
  EXPECT_LT(peak.rss_bytes, idle.rss_bytes + (192ull << 20));

  // Shed calls counted nothing; admitted ones all did. The server answers
  // normally once the flood is over.
  const LedgerReport report = ExpectNothingLost(ledger, server);
  EXPECT_EQ(report.checked, admitted_ms.size());
  EXPECT_EQ(report.events.size(), admitted_ms.size());
  // Calls shed by the server's bound are counted by code (those gRPC sheds
  // for want of a thread never reach it).
  const double shed_metric = ScrapeValue(
      server.process().metrics_port(),
      "gatehouse_grpc_requests_total{method=\"Record\",code=\"RESOURCE_"
      "EXHAUSTED\"}");
  EXPECT_GE(shed_metric, 0);
  EXPECT_LE(shed_metric, static_cast<double>(shed_ms.size()));
}

}  // namespace
}  // namespace gatehouse::testing
