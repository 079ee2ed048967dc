// The policy and credentials files rewritten and reloaded (SIGHUP and the
// file watcher) many times while clients call at full speed: no call fails,
// counters of unchanged policies are kept exactly, a policy whose limit
// changed keeps its counts, and a broken file is rejected with the old one
// kept.

#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <iostream>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "tests/reliability/reliability_support.h"

namespace gatehouse::testing {
namespace {

constexpr int kThreads = 4;
constexpr int kReloads = 40;

// The test policies with "changing" at `limit`.
std::string PoliciesWithLimit(uint64_t limit) {
  std::string yaml = kReliabilityPolicies;
  const std::string from =
      "  - name: changing\n    dimensions: [id]\n    limit: 1000000000\n";
  const std::string to = absl::StrCat(
      "  - name: changing\n    dimensions: [id]\n    limit: ", limit, "\n");
  return absl::StrReplaceAll(yaml, {{from, to}});
}

// Replaces the file in one rename, as a config management tool would (a
// reader never sees it half-written).
void Replace(const std::string& path, const std::string& contents) {
  const std::string tmp = path + ".new";
  std::ofstream(tmp, std::ios::trunc) << contents;
  ASSERT_EQ(std::rename(tmp.c_str(), path.c_str()), 0);
}

TEST(ReloadUnderLoadTest, ManyReloadsFailNoCallAndKeepEveryCount) {
  TempDir dir;
  ReliableServer server(dir.path(), dir.path() + "/data",
                        {"--watch_interval=100ms"});
  std::string error;
  ASSERT_TRUE(server.Start(&error)) << error;

  Ledger ledger;  // "counter", never changed
  std::atomic<uint64_t> changing_allowed[kThreads] = {};
  std::atomic<int> failures{0};
  std::atomic<uint64_t> calls{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::unique_ptr<Client> client = server.NewClient();
      for (uint64_t n = 0; !stop.load(); ++n) {
        Client::Result r;
        std::string key;
        if (n % 3 == 2) {
          key = absl::StrCat("changing-", t);
          v1::CheckRequest request;
          *request.add_subjects() =
              Client::MakeSubject("changing", {{"id", key}});
          r = client->Check(request);
          if (r.status.ok() && r.allowed) ++changing_allowed[t];
        } else if (n % 3 == 1) {
          v1::PeekRequest request;
          *request.add_subjects() = Client::MakeSubject(
              "failed_auth_user_ip", {{"user", "u"}, {"ip", "192.0.2.1"}});
          r = client->Peek(request);
        } else {
          key = absl::StrCat("t", t, "-k", n % 8);
          v1::RecordRequest request;
          *request.add_subjects() =
              Client::MakeSubject("counter", {{"id", key}});
          r = client->Record(request);
          if (r.status.ok()) {
            ledger.Acknowledged(key, 1, r.verdicts[0].audit_sequence());
          }
        }
        ++calls;
        if (!r.status.ok()) {
          ++failures;
          ADD_FAILURE() << r.status.error_code() << " "
                        << r.status.error_message();
        }
      }
    });
  }

  // Each round changes one file: a new limit for "changing", a second
  // client in the credentials (rotation), or a broken file, then repairs it.
  uint64_t last_limit = 1000000000;
  int broken = 0;
  for (int i = 0; i < kReloads; ++i) {
    switch (i % 4) {
      case 0:
        last_limit = 500000000 + i;
        Replace(server.policies_path(), PoliciesWithLimit(last_limit));
        break;
      case 1:
        Replace(server.credentials_path(),
                CredentialsYaml(absl::StrCat("rotated-token-", i,
                                             "-aV9qL3xT7mK2pW8sZ4nB6cJ1")));
        break;
      case 2:
        Replace(server.policies_path(), "policies: [{name: broken}]\n");
        ++broken;
        break;
      case 3:
        Replace(server.credentials_path(), "clients: [\n");
        ++broken;
        break;
    }
    server.process().Signal(SIGHUP);
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    if (i % 4 >= 2) {
      // Repair what was broken.
      if (i % 4 == 2) {
        Replace(server.policies_path(), PoliciesWithLimit(last_limit));
      } else {
        Replace(server.credentials_path(), CredentialsYaml());
      }
      server.process().Signal(SIGHUP);
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  stop = true;
  for (std::thread& t : threads) t.join();

  EXPECT_EQ(failures.load(), 0);
  const LedgerReport report = ExpectNothingLost(ledger, server);
  const uint64_t checked = report.checked, lost = report.lost;
  std::unique_ptr<Client> client = server.NewClient();
  for (int t = 0; t < kThreads; ++t) {
    v1::PeekRequest peek;
    *peek.add_subjects() =
        Client::MakeSubject("changing", {{"id", absl::StrCat("changing-", t)}});
    const Client::Result r = client->Peek(peek);
    ASSERT_TRUE(r.status.ok()) << r.status.error_message();
    EXPECT_EQ(r.verdicts[0].count(), changing_allowed[t].load());
    EXPECT_EQ(r.verdicts[0].limit(), last_limit);
  }
  const int metrics_port = server.process().metrics_port();
  const double rejected = ScrapeValue(metrics_port,
                                      "gatehouse_config_reloads_total{kind="
                                      "\"policies\",result=\"failure\"}") +
                          ScrapeValue(metrics_port,
                                      "gatehouse_config_reloads_total{kind="
                                      "\"credentials\",result=\"failure\"}");
  EXPECT_GE(rejected, broken);
  std::cout << "reload under load: " << kReloads << " rounds (" << broken
            << " broken files) during " << calls.load() << " calls from "
            << kThreads << " clients: " << failures.load() << " failed; "
            << checked << " acknowledged Records checked, " << lost << " lost; "
            << rejected << " reloads rejected\n";
}

}  // namespace
}  // namespace gatehouse::testing
