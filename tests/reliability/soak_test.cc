// A bounded soak of the real server: mixed sign-in traffic with audit
// consumers following the log, for GATEHOUSE_SOAK_SECONDS (60 by default;
// the documented long run is 600). After a warm-up, resident memory, file
// descriptors and threads stay flat; every call succeeds.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <random>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/audit_tail.h"
#include "grpcpp/create_channel.h"
#include "tests/reliability/reliability_support.h"

namespace gatehouse::testing {
namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr int kTrafficThreads = 4;
constexpr int kConsumers = 2;

int SoakSeconds() {
  const char* env = std::getenv("GATEHOUSE_SOAK_SECONDS");
  return env != nullptr && std::atoi(env) > 0 ? std::atoi(env) : 60;
}

TEST(SoakTest, MixedTrafficWithConsumersKeepsMemoryFdsAndThreadsFlat) {
  TempDir dir;
  ReliableServer server(dir.path(), dir.path() + "/data");
  std::string error;
  ASSERT_TRUE(server.Start(&error)) << error;
  const pid_t pid = server.process().pid();

  std::atomic<bool> stop{false};
  std::atomic<uint64_t> calls{0}, failures{0}, consumed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kTrafficThreads; ++t) {
    threads.emplace_back([&, t] {
      std::unique_ptr<Client> client = server.NewClient();
      std::mt19937 rng(t);
      std::uniform_int_distribution<int> user(0, 4999), ip(1, 254),
          outcome(0, 9);
      while (!stop.load()) {
        // The sign-in flow: Peek user+ip, Check ip, then Record a failure
        // (one in ten) or Reset on success.
        const std::string u = absl::StrCat("user", user(rng), "@example.com");
        const std::string a = absl::StrCat("198.51.100.", ip(rng));
        v1::PeekRequest peek;
        *peek.add_subjects() = Client::MakeSubject("failed_auth_user_ip",
                                                   {{"user", u}, {"ip", a}});
        v1::CheckRequest check;
        *check.add_subjects() = Client::MakeSubject("login_ip", {{"ip", a}});
        std::vector<grpc::Status> statuses = {client->Peek(peek).status,
                                              client->Check(check).status};
        if (outcome(rng) == 0) {
          v1::RecordRequest record;
          *record.add_subjects() = Client::MakeSubject(
              "failed_auth_user_ip", {{"user", u}, {"ip", a}});
          statuses.push_back(client->Record(record).status);
        } else {
          v1::ResetRequest reset;
          *reset.add_subjects() = Client::MakeSubject("failed_auth_user_ip",
                                                      {{"user", u}, {"ip", a}});
          statuses.push_back(client->Reset(reset).status);
        }
        for (const grpc::Status& s : statuses) {
          ++calls;
          if (!s.ok()) {
            ++failures;
            ADD_FAILURE() << s.error_code() << " " << s.error_message();
          }
        }
      }
    });
  }
  std::vector<std::thread> consumers;
  std::atomic<int> consumers_done{0};
  for (int c = 0; c < kConsumers; ++c) {
    consumers.emplace_back([&] {
      AuditTailOptions options;
      options.token = kReliabilityToken;
      options.follow = true;
      // The stream only checks the sink between events; traffic keeps them
      // coming until stop.
      TailAudit(grpc::CreateChannel(server.address(),
                                    grpc::InsecureChannelCredentials()),
                options, [&](const v1::AuditEvent&) {
                  ++consumed;
                  return !stop.load();
                });
      ++consumers_done;
    });
  }

  const int seconds = SoakSeconds();
  const int warmup = std::max(5, seconds / 6);
  std::vector<ProcStats> samples;
  std::cout << "soak: " << seconds << " s, " << kTrafficThreads
            << " sign-in clients + " << kConsumers << " audit consumers\n"
            << "  t(s)  calls     RSS(MiB)  fds  threads\n";
  const auto start = SteadyClock::now();
  for (int s = 0; s <= seconds; s += 5) {
    std::this_thread::sleep_until(start + std::chrono::seconds(s));
    const ProcStats p = ReadProcStats(pid);
    std::cout << "  " << s << "\t" << calls.load() << "\t"
              << (p.rss_bytes >> 20) << "\t" << p.fds << "\t" << p.threads
              << "\n";
    if (s >= warmup) samples.push_back(p);
  }
  stop = true;
  for (std::thread& t : threads) t.join();
  // Followers stop at their next event: make some.
  {
    std::unique_ptr<Client> client = server.NewClient();
    for (int i = 0; i < 500 && consumers_done.load() < kConsumers; ++i) {
      v1::RecordRequest record;
      *record.add_subjects() = Client::MakeSubject("counter", {{"id", "end"}});
      client->Record(record);
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  for (std::thread& t : consumers) t.join();

  EXPECT_EQ(failures.load(), 0u);
  EXPECT_GT(consumed.load(), 0u);
  ASSERT_GE(samples.size(), 2u);
  const ProcStats& first = samples.front();
  uint64_t max_rss = 0;
  int max_fds = 0, max_threads = 0;
  for (const ProcStats& p : samples) {
    max_rss = std::max(max_rss, p.rss_bytes);
    max_fds = std::max(max_fds, p.fds);
    max_threads = std::max(max_threads, p.threads);
  }
  // Flat: descriptors and threads do not grow; memory grows at most by what
  // RocksDB's memtables (2 x 32 MiB per column family) and block cache
  // (64 MiB) may still fill, never with the number of calls or keys.
  EXPECT_LE(max_fds, first.fds + 4);
  // gRPC's sync server grows and shrinks its pool with concurrent calls.
  EXPECT_LE(max_threads, first.threads + 8);
  EXPECT_LE(max_rss, first.rss_bytes + (96ull << 20));
  std::cout << "soak: " << calls.load() << " calls, " << failures.load()
            << " failed, " << consumed.load()
            << " events streamed; after warm-up RSS " << (first.rss_bytes >> 20)
            << " -> max " << (max_rss >> 20) << " MiB, fds " << first.fds
            << " -> max " << max_fds << ", threads " << first.threads
            << " -> max " << max_threads << "\n";
}

}  // namespace
}  // namespace gatehouse::testing
