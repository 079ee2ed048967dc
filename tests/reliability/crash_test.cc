// kill -9 of the real server, again and again, while clients Record and
// Check at full speed (on keys of their own, and all on the same two hot
// keys with --sync_writes): after every restart each acknowledged operation
// is in its counter and has its audit event, sequence numbers go on without
// a gap, and RocksDB opens cleanly (the server starts).

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/reliability/reliability_support.h"

namespace gatehouse::testing {
namespace {

int Kills() {
  const char* env = std::getenv("GATEHOUSE_CRASH_KILLS");
  return env != nullptr && std::atoi(env) > 0 ? std::atoi(env) : 20;
}

// What the clients do while the server is killed again and again.
struct CrashLoad {
  std::vector<std::string> flags;
  int threads = 4;
  // The key of client thread t's n-th call.
  std::function<std::string(int t, uint64_t n)> key;
  int kills = 20;
};

// Runs `load` (Records and Checks alternately, each thread with its own
// client) against a server killed with -9 load.kills times, then checks
// that nothing acknowledged was lost (ExpectNothingLost) and reports.
void KillUnderLoad(const CrashLoad& load, const std::string& name) {
  TempDir dir;
  ReliableServer server(dir.path(), dir.path() + "/data", load.flags);
  std::string error;
  ASSERT_TRUE(server.Start(&error)) << error;

  Ledger ledger;
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < load.threads; ++t) {
    threads.emplace_back([&, t] {
      // One client for the whole test: it must find each restarted server
      // by itself.
      std::unique_ptr<Client> client = server.NewClient(absl::Seconds(1));
      for (uint64_t n = 0; !stop.load(); ++n) {
        const std::string key = load.key(t, n);
        Client::Result r;
        if (n % 2 == 0) {
          v1::RecordRequest request;
          *request.add_subjects() =
              Client::MakeSubject("counter", {{"id", key}});
          r = client->Record(request);
        } else {
          v1::CheckRequest request;
          *request.add_subjects() =
              Client::MakeSubject("counter", {{"id", key}});
          r = client->Check(request);
        }
        if (r.status.ok() && r.allowed && r.verdicts.size() == 1) {
          ledger.Acknowledged(key, 1, r.verdicts[0].audit_sequence());
        } else {
          // Refused while the server was down, or cut off in flight by the
          // kill: it may have been counted.
          ledger.Unknown(key, 1);
          std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
      }
    });
  }

  std::mt19937 rng(7);
  std::uniform_int_distribution<int> pause_ms(100, 400);
  for (int k = 0; k < load.kills; ++k) {
    // Under load: wait for acknowledged calls since the last restart.
    const uint64_t before = ledger.total_acknowledged();
    for (int i = 0; i < 1000 && ledger.total_acknowledged() < before + 50;
         ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (ledger.total_acknowledged() < before + 50) {
      stop = true;
      for (std::thread& t : threads) t.join();
      FAIL() << "no progress after restart " << k << ":\n"
             << server.process().stderr_text();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms(rng)));
    server.process().Kill();
    if (!server.Start(&error)) {
      stop = true;
      for (std::thread& t : threads) t.join();
      FAIL() << "restart " << k + 1 << ": " << error;
    }
  }
  // Let the clients get going once more, then stop them.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  stop = true;
  for (std::thread& t : threads) t.join();

  const LedgerReport report = ExpectNothingLost(ledger, server);
  const std::vector<v1::AuditEvent>& events = report.events;
  const uint64_t checked = report.checked, lost = report.lost;
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.front().sequence(), 1u);
  // Each run of the server acknowledged at least 50 calls before its kill.
  EXPECT_GE(checked, 50u * static_cast<uint64_t>(load.kills));
  std::cout << name << ": " << load.kills << " x kill -9 under " << load.threads
            << " clients; " << checked << " acknowledged operations checked, "
            << lost << " lost; " << events.size() << " audit events, no gap\n";
  ::testing::Test::RecordProperty("kills", load.kills);
  ::testing::Test::RecordProperty("acknowledged_checked",
                                  static_cast<int>(checked));
  ::testing::Test::RecordProperty("lost", static_cast<int>(lost));
}

// Each client thread on keys of its own: one call per key at a time.
TEST(CrashTest, KillNineUnderLoadLosesNothingAcknowledged) {
  CrashLoad load;
  load.key = [](int t, uint64_t n) {
    return absl::StrCat("t", t, "-k", n % 16);
  };
  load.kills = Kills();
  KillUnderLoad(load, "crash");
}

// Every client thread on the same two keys, with --sync_writes: a key's
// next call decides on the state the previous one queued, before it is
// written, and several share one fsync. A kill between the queueing and
// the write loses only calls that were never answered.
TEST(CrashTest, KillNineWithSharedHotKeysLosesNothingAcknowledged) {
  CrashLoad load;
  load.flags = {"--sync_writes"};
  load.threads = 8;
  load.key = [](int, uint64_t n) { return absl::StrCat("hot-", n % 2); };
  load.kills = std::max(5, Kills() / 4);
  KillUnderLoad(load, "crash, shared hot keys");
}

}  // namespace
}  // namespace gatehouse::testing
