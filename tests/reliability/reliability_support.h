#ifndef GATEHOUSE_TESTS_RELIABILITY_RELIABILITY_SUPPORT_H_
#define GATEHOUSE_TESTS_RELIABILITY_RELIABILITY_SUPPORT_H_

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "client/client.h"
#include "gatehouse/v1/audit.pb.h"
#include "tests/integration/server_process.h"

namespace gatehouse::testing {

// Policies the fault tests drive: "counter" never denies in practice, so
// every acknowledged hit must show in its count; "changing" is rewritten by
// the reload test.
inline constexpr char kReliabilityPolicies[] = R"(
policies:
  - name: counter
    dimensions: [id]
    limit: 1000000000
    window: 24h
  - name: changing
    dimensions: [id]
    limit: 1000000000
    window: 24h
  - name: login_ip
    dimensions: [ip]
    limit: 50
    window: 1m
  - name: failed_auth_user_ip
    dimensions: [user, ip]
    limit: 5
    window: 15m
    lockout: {duration: 1m, multiplier: 2, max: 1h}
)";

inline constexpr char kReliabilityToken[] =
    "rel-token-7d2e9c4b1a0f8e6d5c3b2a19f0e8d7c6";

// The credentials file admitting kReliabilityToken (and, when not empty,
// `extra_token` as a second client).
std::string CredentialsYaml(const std::string& extra_token = "");

// The real gatehouse binary with the fault tests' policies and credentials
// on a data dir that survives restarts (`data_dir`, e.g. on a tmpfs), and a
// client of it. After the first start the port is pinned, so a restarted
// server is reached by the same address and clients reconnect by
// themselves, as in production.
class ReliableServer {
 public:
  // `data_dir` must exist or be creatable; `extra_flags` go to every start.
  ReliableServer(const std::string& scratch, const std::string& data_dir,
                 std::vector<std::string> extra_flags = {});

  // Starts (or restarts) the server; false with a message on failure.
  bool Start(std::string* error);
  ServerProcess& process() { return *process_; }
  const std::string& address() const { return address_; }
  const std::string& policies_path() const { return policies_; }
  const std::string& credentials_path() const { return credentials_; }
  // A new client of address() with the test token and `deadline`.
  std::unique_ptr<Client> NewClient(
      absl::Duration deadline = absl::Seconds(5)) const;

 private:
  std::string scratch_, data_dir_, policies_, credentials_, pseudonym_key_;
  std::vector<std::string> extra_flags_;
  std::unique_ptr<ServerProcess> process_;
  int port_ = 0;
  std::string address_;
};

// What /proc says about a process.
struct ProcStats {
  uint64_t rss_bytes = 0;
  uint64_t peak_rss_bytes = 0;  // VmHWM: the most RSS the process ever had.
  int fds = 0;
  int threads = 0;
};
ProcStats ReadProcStats(pid_t pid);

// The value of one sample (name with its labels exactly as rendered, e.g.
// `gatehouse_storage_writable` or `gatehouse_grpc_requests_total{method=
// "Record",code="OK"}`) in a scrape of 127.0.0.1:`metrics_port`; -1 when
// absent or unreachable.
double ScrapeValue(int metrics_port, const std::string& sample);

// Every audit event from the oldest retained to the head, via the real
// gatehouse.v1.Audit/Stream; fails the test on a stream error.
std::vector<v1::AuditEvent> ReadWholeAudit(const std::string& address);

// Acknowledged operations, by key, kept by client threads: what the server
// answered OK to, which must all be in its state after any fault.
class Ledger {
 public:
  // An acknowledged Record or allowed Check of `hits` on `key`, audited as
  // `sequence`.
  void Acknowledged(const std::string& key, uint64_t hits, uint64_t sequence);
  // A call on `key` whose outcome is unknown (error or crash in flight): it
  // may or may not have been counted.
  void Unknown(const std::string& key, uint64_t hits);

  struct Entry {
    uint64_t acknowledged = 0;
    uint64_t unknown = 0;
    std::vector<uint64_t> sequences;
  };
  std::map<std::string, Entry> Snapshot() const;
  uint64_t total_acknowledged() const;

 private:
  mutable absl::Mutex mu_;
  std::map<std::string, Entry> entries_ ABSL_GUARDED_BY(mu_);
  uint64_t total_ ABSL_GUARDED_BY(mu_) = 0;
};

// Checks every ledger entry against the server: the "counter" count of each
// key is at least what was acknowledged and at most that plus the unknown
// calls, and each acknowledged call's audit event is in `events` with its
// key. Returns how many acknowledged operations were checked; `*lost`
// counts those missing (counted below the acknowledged, or without event).
uint64_t VerifyLedger(const Ledger& ledger, Client& client,
                      const std::vector<v1::AuditEvent>& events,
                      uint64_t* lost);

// Fails the test unless `events` are sequences first..last without a gap.
void ExpectGapFree(const std::vector<v1::AuditEvent>& events);

// Reads the whole audit log of `server`, expects it gap-free, checks
// `ledger` against it and the server's counts (VerifyLedger) and expects
// nothing lost. The figures are for the test's report.
struct LedgerReport {
  std::vector<v1::AuditEvent> events;
  uint64_t checked = 0;
  uint64_t lost = 0;
};
LedgerReport ExpectNothingLost(const Ledger& ledger,
                               const ReliableServer& server);

}  // namespace gatehouse::testing

#endif  // GATEHOUSE_TESTS_RELIABILITY_RELIABILITY_SUPPORT_H_
