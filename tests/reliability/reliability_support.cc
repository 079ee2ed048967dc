#include "tests/reliability/reliability_support.h"

#include <dirent.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "client/audit_tail.h"
#include "grpcpp/create_channel.h"
#include "service/auth/credentials.h"
#include "tests/metrics/test_support.h"

namespace gatehouse::testing {
namespace {

constexpr char kPseudonymKey[] =
    "rel-pseudonym-Qm3xV8nR2tK7pL9wZ4sY6bH1cJ5dF0gA";

std::string WriteFile(const std::string& path, const std::string& contents) {
  std::ofstream(path, std::ios::trunc) << contents;
  return path;
}

}  // namespace

std::string CredentialsYaml(const std::string& extra_token) {
  std::string yaml = absl::StrCat(
      "clients:\n  - id: reliability\n    token_sha256: [",
      HexEncode(Sha256(kReliabilityToken)),
      "]\n    scopes: [check, peek, record, reset, audit, admin]\n");
  if (!extra_token.empty()) {
    absl::StrAppend(&yaml, "  - id: extra\n    token_sha256: [",
                    HexEncode(Sha256(extra_token)), "]\n    scopes: [peek]\n");
  }
  return yaml;
}

ReliableServer::ReliableServer(const std::string& scratch,
                               const std::string& data_dir,
                               std::vector<std::string> extra_flags)
    : scratch_(scratch),
      data_dir_(data_dir),
      policies_(WriteFile(scratch + "/policies.yaml", kReliabilityPolicies)),
      credentials_(WriteFile(scratch + "/credentials.yaml", CredentialsYaml())),
      pseudonym_key_(
          WriteFile(scratch + "/pseudonym.key", std::string(kPseudonymKey))),
      extra_flags_(std::move(extra_flags)) {}

bool ReliableServer::Start(std::string* error) {
  std::vector<std::string> args = {
      "--data_dir=" + data_dir_,       "--policies=" + policies_,
      "--credentials=" + credentials_, "--pseudonym_key_file=" + pseudonym_key_,
      "--shutdown_grace=200ms",        "--max_streams_per_client=64",
  };
  args.insert(args.end(), extra_flags_.begin(), extra_flags_.end());
  // The last --listen wins: after the first start, the same port again.
  if (port_ > 0) args.push_back(absl::StrCat("--listen=127.0.0.1:", port_));
  process_ = std::make_unique<ServerProcess>(args);
  if (!process_->Start()) {
    *error = process_->stderr_text();
    return false;
  }
  port_ = process_->port();
  address_ = process_->address();
  return true;
}

std::unique_ptr<Client> ReliableServer::NewClient(
    absl::Duration deadline) const {
  ClientOptions options;
  options.target = address_;
  options.token = kReliabilityToken;
  options.deadline = deadline;
  return Client::Create(options);
}

ProcStats ReadProcStats(pid_t pid) {
  ProcStats stats;
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(status, line)) {
    std::istringstream fields(line);
    std::string name;
    uint64_t value = 0;
    fields >> name >> value;
    if (name == "VmRSS:") stats.rss_bytes = value * 1024;
    if (name == "VmHWM:") stats.peak_rss_bytes = value * 1024;
    if (name == "Threads:") stats.threads = static_cast<int>(value);
  }
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator(
           absl::StrCat("/proc/", pid, "/fd"), ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++stats.fds;
  }
  return stats;
}

double ScrapeValue(int metrics_port, const std::string& sample) {
  const metrics::testing::HttpResponse response =
      metrics::testing::HttpGet(metrics_port, "/metrics");
  if (response.status != 200) return -1;
  std::istringstream lines(response.body);
  std::string line;
  const std::string prefix = sample + " ";
  while (std::getline(lines, line)) {
    if (line.rfind(prefix, 0) == 0) {
      double value = 0;
      if (absl::SimpleAtod(line.substr(prefix.size()), &value)) return value;
    }
  }
  return -1;
}

std::vector<v1::AuditEvent> ReadWholeAudit(const std::string& address) {
  std::vector<v1::AuditEvent> events;
  AuditTailOptions options;
  options.token = kReliabilityToken;
  const grpc::Status status = TailAudit(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()), options,
      [&](const v1::AuditEvent& e) {
        events.push_back(e);
        return true;
      });
  EXPECT_TRUE(status.ok()) << status.error_message();
  return events;
}

void Ledger::Acknowledged(const std::string& key, uint64_t hits,
                          uint64_t sequence) {
  absl::MutexLock lock(&mu_);
  Entry& e = entries_[key];
  e.acknowledged += hits;
  e.sequences.push_back(sequence);
  ++total_;
}

void Ledger::Unknown(const std::string& key, uint64_t hits) {
  absl::MutexLock lock(&mu_);
  entries_[key].unknown += hits;
}

std::map<std::string, Ledger::Entry> Ledger::Snapshot() const {
  absl::MutexLock lock(&mu_);
  return entries_;
}

uint64_t Ledger::total_acknowledged() const {
  absl::MutexLock lock(&mu_);
  return total_;
}

uint64_t VerifyLedger(const Ledger& ledger, Client& client,
                      const std::vector<v1::AuditEvent>& events,
                      uint64_t* lost) {
  *lost = 0;
  std::map<uint64_t, const v1::AuditEvent*> by_sequence;
  for (const v1::AuditEvent& e : events) by_sequence[e.sequence()] = &e;
  uint64_t checked = 0;
  for (const auto& [key, entry] : ledger.Snapshot()) {
    v1::PeekRequest peek;
    *peek.add_subjects() = Client::MakeSubject("counter", {{"id", key}});
    const Client::Result r = client.Peek(peek);
    EXPECT_TRUE(r.status.ok()) << key << ": " << r.status.error_message();
    if (!r.status.ok() || r.verdicts.empty()) {
      *lost += entry.sequences.size();
      continue;
    }
    const uint64_t count = r.verdicts[0].count();
    EXPECT_GE(count, entry.acknowledged) << key;
    EXPECT_LE(count, entry.acknowledged + entry.unknown) << key;
    if (count < entry.acknowledged) *lost += entry.acknowledged - count;
    for (uint64_t seq : entry.sequences) {
      ++checked;
      auto it = by_sequence.find(seq);
      const bool found = it != by_sequence.end() &&
                         it->second->key().count("id") == 1 &&
                         it->second->key().at("id") == key;
      EXPECT_TRUE(found) << "audit event " << seq << " of " << key;
      if (!found) ++*lost;
    }
  }
  return checked;
}

void ExpectGapFree(const std::vector<v1::AuditEvent>& events) {
  for (size_t i = 1; i < events.size(); ++i) {
    if (events[i].sequence() != events[i - 1].sequence() + 1) {
      ADD_FAILURE() << "audit gap: " << events[i - 1].sequence() << " then "
                    << events[i].sequence();
      return;
    }
  }
}

LedgerReport ExpectNothingLost(const Ledger& ledger,
                               const ReliableServer& server) {
  LedgerReport report;
  report.events = ReadWholeAudit(server.address());
  ExpectGapFree(report.events);
  std::unique_ptr<Client> client = server.NewClient();
  report.checked = VerifyLedger(ledger, *client, report.events, &report.lost);
  EXPECT_EQ(report.lost, 0u);
  return report;
}

}  // namespace gatehouse::testing
