// /metrics of the real server binary after known traffic through the real
// client: exact figures, `promtool check metrics` on the scrape, the real
// Prometheus server scraping it, and series that stay bounded however many
// IPs and users are seen.

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "gatehouse/v1/ratelimit.grpc.pb.h"
#include "tests/integration/fixture.h"
#include "tests/metrics/prometheus_process.h"
#include "tests/metrics/test_support.h"

namespace gatehouse::testing {
namespace {

namespace mt = ::gatehouse::metrics::testing;
using Labels = std::map<std::string, std::string>;
using SteadyClock = std::chrono::steady_clock;

constexpr char kReaderToken[] = "it-reader-token-9a8b7c6d5e4f3a2b1c0d9e8f";
constexpr char kWrongToken[] = "it-wrong-token-00000000000000000000000000";

// A scrape in the text exposition format, parsed into samples.
class Scrape {
 public:
  explicit Scrape(std::string body) : body_(std::move(body)) {
    size_t start = 0;
    while (start < body_.size()) {
      size_t end = body_.find('\n', start);
      if (end == std::string::npos) end = body_.size();
      ParseLine(body_.substr(start, end - start));
      start = end + 1;
    }
  }

  const std::string& body() const { return body_; }
  bool parsed() const { return error_.empty(); }
  const std::string& error() const { return error_; }

  // The value of the series, or -1 when the scrape does not have it.
  double Value(const std::string& name, const Labels& labels = {}) const {
    const auto it = samples_.find(SeriesId(name, labels));
    return it == samples_.end() ? -1 : it->second;
  }
  // Like Value, but a labelled counter that was never incremented has no
  // series yet: absent reads as 0.
  double Count(const std::string& name, const Labels& labels) const {
    const double v = Value(name, labels);
    return v < 0 ? 0 : v;
  }

  // Every series of each gatehouse_* family (histogram samples under their
  // family name).
  std::map<std::string, std::set<std::string>> GatehouseSeries() const {
    std::map<std::string, std::set<std::string>> out;
    for (const auto& [id, value] : samples_) {
      const std::string name = id.substr(0, id.find('{'));
      if (name.rfind("gatehouse_", 0) != 0) continue;
      out[FamilyOf(name)].insert(id);
    }
    return out;
  }

 private:
  static std::string SeriesId(const std::string& name, const Labels& labels) {
    std::string id = name + "{";
    for (const auto& [k, v] : labels) id += k + "=\"" + v + "\",";
    return id + "}";
  }

  std::string FamilyOf(const std::string& name) const {
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      const std::string s = suffix;
      if (name.size() > s.size() &&
          name.compare(name.size() - s.size(), s.size(), s) == 0) {
        const std::string base = name.substr(0, name.size() - s.size());
        const auto type = types_.find(base);
        if (type != types_.end() && type->second == "histogram") return base;
      }
    }
    return name;
  }

  void ParseLine(const std::string& line) {
    if (line.empty()) return;
    if (line.rfind("# TYPE ", 0) == 0) {
      const size_t space = line.find(' ', 7);
      types_[line.substr(7, space - 7)] = line.substr(space + 1);
      return;
    }
    if (line[0] == '#') return;
    size_t i = line.find_first_of("{ ");
    if (i == std::string::npos) return Fail(line);
    const std::string name = line.substr(0, i);
    Labels labels;
    if (line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        const size_t eq = line.find("=\"", i);
        if (eq == std::string::npos) return Fail(line);
        const std::string key = line.substr(i, eq - i);
        std::string value;
        for (i = eq + 2; i < line.size() && line[i] != '"'; ++i) {
          if (line[i] == '\\' && i + 1 < line.size()) {
            ++i;
            value.push_back(line[i] == 'n' ? '\n' : line[i]);
          } else {
            value.push_back(line[i]);
          }
        }
        if (i >= line.size()) return Fail(line);
        labels[key] = value;
        ++i;  // closing quote
        if (i < line.size() && line[i] == ',') ++i;
      }
      if (i >= line.size()) return Fail(line);
      ++i;  // closing brace
    }
    if (i >= line.size() || line[i] != ' ') return Fail(line);
    const std::string value = line.substr(i + 1, line.find(' ', i + 1) - i - 1);
    char* end = nullptr;
    const double v = std::strtod(value.c_str(), &end);
    if (end == value.c_str() || *end != '\0') return Fail(line);
    if (!samples_.emplace(SeriesId(name, labels), v).second) {
      error_ += "duplicate series: " + line + "\n";
    }
  }

  void Fail(const std::string& line) {
    error_ += "cannot parse: " + line + "\n";
  }

  std::string body_;
  std::string error_;
  std::map<std::string, double> samples_;
  std::map<std::string, std::string> types_;
};

using mt::PrometheusProcess;

// The fixture's server with a second, restricted client ("reader": Peek on
// login_ip only), so every authentication failure reason can be produced.
class MetricsTest : public ServerTest {
 protected:
  void SetUp() override {
    policies_ = dir_.WriteFile("policies.yaml", kTestPolicies);
    credentials_ =
        dir_.WriteFile("credentials.yaml",
                       "clients:\n"
                       "  - id: it\n"
                       "    token_sha256: [" +
                           HexEncode(Sha256(kTestToken)) +
                           "]\n"
                           "    scopes: [check, peek, record, reset, audit]\n"
                           "  - id: reader\n"
                           "    token_sha256: [" +
                           HexEncode(Sha256(kReaderToken)) +
                           "]\n"
                           "    scopes: [peek]\n"
                           "    policies: [login_ip]\n");
    pseudonym_key_ =
        dir_.WriteFile("pseudonym.key", std::string(kTestPseudonymKey) + "\n");
    StartServer();
  }

  std::unique_ptr<Client> ClientWithToken(const std::string& token) const {
    ClientOptions options;
    options.target = server_->address();
    options.token = token;
    options.deadline = absl::Seconds(5);
    return Client::Create(options);
  }

  Scrape ScrapeMetrics() const {
    const mt::HttpResponse response =
        mt::HttpGet(server_->metrics_port(), "/metrics");
    EXPECT_EQ(response.status, 200) << response.error;
    Scrape scrape(response.body);
    EXPECT_TRUE(scrape.parsed()) << scrape.error();
    return scrape;
  }

  // `n` Checks of login_ip for `ip` with `hits` each; returns how many were
  // allowed (every call must succeed).
  int CheckLoginIp(const std::string& ip, int n, uint64_t hits = 1) {
    int allowed = 0;
    for (int i = 0; i < n; ++i) {
      v1::CheckRequest request;
      *request.add_subjects() =
          Client::MakeSubject("login_ip", {{"ip", ip}}, hits);
      const Client::Result r = client_->Check(request);
      EXPECT_TRUE(r.status.ok()) << r.status.error_message();
      if (r.status.ok() && r.allowed) ++allowed;
      NoteSequence(r);
    }
    return allowed;
  }

  Client::Result Record(const v1::Subject& subject) {
    v1::RecordRequest request;
    *request.add_subjects() = subject;
    Client::Result r = client_->Record(request);
    EXPECT_TRUE(r.status.ok()) << r.status.error_message();
    NoteSequence(r);
    return r;
  }

  void NoteSequence(const Client::Result& r) {
    for (const v1::Verdict& v : r.verdicts) {
      last_audit_sequence_ = std::max(last_audit_sequence_, v.audit_sequence());
    }
  }

  // The audit head gauge, which the server refreshes every second: polls
  // the scrape (up to 10 s) until it shows `want`; returns the last value.
  double AwaitAuditHead(double want) const {
    const auto deadline = SteadyClock::now() + std::chrono::seconds(10);
    double head = ScrapeMetrics().Value("gatehouse_audit_head_sequence");
    while (head != want && SteadyClock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      head = ScrapeMetrics().Value("gatehouse_audit_head_sequence");
    }
    return head;
  }

  uint64_t last_audit_sequence_ = 0;
};

v1::Subject AliceFromHome() {
  return Client::MakeSubject(
      "failed_auth_user_ip",
      {{"user", "alice@example.com"}, {"ip", "203.0.113.7"}});
}

TEST_F(MetricsTest, ScrapeCountsExactlyTheTrafficAndPassesPromtool) {
  // Check: 7 allowed, then 3 denied (7 + 14 hits would pass the limit of 20).
  EXPECT_EQ(CheckLoginIp("192.0.2.10", 7), 7);
  EXPECT_EQ(CheckLoginIp("192.0.2.10", 3, /*hits=*/14), 0);
  // Record: failures 1-4 allow the next attempt, the 5th reaches the
  // ceiling and locks out, the 6th is denied during the lockout.
  for (int i = 1; i <= 6; ++i) {
    const Client::Result r = Record(AliceFromHome());
    ASSERT_EQ(r.verdicts.size(), 1u);
    EXPECT_EQ(r.verdicts[0].ceiling_hit(), i == 5) << "record " << i;
  }
  // A ceiling without lockout: login_ip has none.
  const Client::Result bulk =
      Record(Client::MakeSubject("login_ip", {{"ip", "192.0.2.99"}}, 20));
  ASSERT_EQ(bulk.verdicts.size(), 1u);
  EXPECT_TRUE(bulk.verdicts[0].ceiling_hit());
  EXPECT_FALSE(bulk.verdicts[0].has_locked_until());
  // Peek: two denied during the lockout, one allowed.
  for (int i = 0; i < 2; ++i) {
    v1::PeekRequest peek;
    *peek.add_subjects() = AliceFromHome();
    const Client::Result r = client_->Peek(peek);
    EXPECT_TRUE(r.status.ok());
    EXPECT_FALSE(r.allowed);
    NoteSequence(r);
  }
  v1::PeekRequest peek_ip;
  *peek_ip.add_subjects() =
      Client::MakeSubject("login_ip", {{"ip", "192.0.2.10"}});
  EXPECT_TRUE(client_->Peek(peek_ip).allowed);
  // Reset after a successful sign-in.
  v1::ResetRequest reset;
  *reset.add_subjects() = AliceFromHome();
  const Client::Result cleared = client_->Reset(reset);
  EXPECT_TRUE(cleared.status.ok());
  NoteSequence(cleared);

  // Audit events: 10 Checks, 7 Records, 2 denied Peeks, 1 Reset. The head
  // gauge is read before the refused calls below.
  EXPECT_EQ(last_audit_sequence_, 20u);
  EXPECT_EQ(AwaitAuditHead(20), 20);

  // Refused calls: each authentication failure reason once, a bad request
  // and an unknown policy.
  v1::CheckRequest check_ip;
  *check_ip.add_subjects() =
      Client::MakeSubject("login_ip", {{"ip", "192.0.2.10"}});
  EXPECT_EQ(ClientWithToken(kWrongToken)->Check(check_ip).status.error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(ClientWithToken("")->Check(check_ip).status.error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  const std::unique_ptr<Client> reader = ClientWithToken(kReaderToken);
  EXPECT_EQ(reader->Check(check_ip).status.error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  v1::PeekRequest peek_user;
  *peek_user.add_subjects() = AliceFromHome();
  EXPECT_EQ(reader->Peek(peek_user).status.error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(reader->Peek(peek_ip).status.ok());
  v1::CheckRequest bad_ip;
  *bad_ip.add_subjects() =
      Client::MakeSubject("login_ip", {{"ip", "not-an-ip"}});
  EXPECT_EQ(client_->Check(bad_ip).status.error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  v1::PeekRequest unknown;
  *unknown.add_subjects() = Client::MakeSubject("nope", {{"ip", "192.0.2.10"}});
  EXPECT_EQ(client_->Peek(unknown).status.error_code(),
            grpc::StatusCode::NOT_FOUND);

  const Scrape s = ScrapeMetrics();
  const std::string kDecisions = "gatehouse_decisions_total";
  auto decisions = [&](const char* policy, const char* rpc,
                       const char* decision) {
    return s.Count(kDecisions,
                   {{"policy", policy}, {"rpc", rpc}, {"decision", decision}});
  };
  EXPECT_EQ(decisions("login_ip", "check", "allow"), 7);
  EXPECT_EQ(decisions("login_ip", "check", "deny"), 3);
  EXPECT_EQ(decisions("login_ip", "record", "deny"), 1);
  EXPECT_EQ(decisions("login_ip", "peek", "allow"), 2);
  EXPECT_EQ(decisions("failed_auth_user_ip", "record", "allow"), 4);
  EXPECT_EQ(decisions("failed_auth_user_ip", "record", "deny"), 2);
  EXPECT_EQ(decisions("failed_auth_user_ip", "peek", "deny"), 2);
  EXPECT_EQ(s.GatehouseSeries()[kDecisions].size(), 7u) << s.body();

  const std::string kCeilings = "gatehouse_ceiling_hits_total";
  const std::string kLockouts = "gatehouse_lockouts_total";
  EXPECT_EQ(s.Count(kCeilings, {{"policy", "failed_auth_user_ip"}}), 1);
  EXPECT_EQ(s.Count(kCeilings, {{"policy", "login_ip"}}), 1);
  EXPECT_EQ(s.Count(kLockouts, {{"policy", "failed_auth_user_ip"}}), 1);
  EXPECT_EQ(s.Count(kLockouts, {{"policy", "login_ip"}}), 0);

  const std::string kRequests = "gatehouse_grpc_requests_total";
  auto requests = [&](const char* method, const char* code) {
    return s.Count(kRequests, {{"method", method}, {"code", code}});
  };
  EXPECT_EQ(requests("Check", "OK"), 10);
  EXPECT_EQ(requests("Check", "UNAUTHENTICATED"), 2);
  EXPECT_EQ(requests("Check", "PERMISSION_DENIED"), 1);
  EXPECT_EQ(requests("Check", "INVALID_ARGUMENT"), 1);
  EXPECT_EQ(requests("Record", "OK"), 7);
  EXPECT_EQ(requests("Peek", "OK"), 4);
  EXPECT_EQ(requests("Peek", "PERMISSION_DENIED"), 1);
  EXPECT_EQ(requests("Peek", "NOT_FOUND"), 1);
  EXPECT_EQ(requests("Reset", "OK"), 1);
  EXPECT_EQ(s.GatehouseSeries()[kRequests].size(), 9u) << s.body();

  // Latency histograms see every call, refused ones included.
  const std::string kDuration = "gatehouse_grpc_request_duration_seconds";
  for (const auto& [method, calls] : std::map<std::string, double>{
           {"Check", 14}, {"Record", 7}, {"Peek", 6}, {"Reset", 1}}) {
    EXPECT_EQ(s.Value(kDuration + "_count", {{"method", method}}), calls)
        << method;
    EXPECT_EQ(
        s.Value(kDuration + "_bucket", {{"method", method}, {"le", "+Inf"}}),
        calls)
        << method;
    EXPECT_GT(s.Value(kDuration + "_sum", {{"method", method}}), 0) << method;
  }

  const std::string kAuth = "gatehouse_auth_failures_total";
  EXPECT_EQ(s.Count(kAuth, {{"reason", "unknown_token"}}), 1);
  EXPECT_EQ(s.Count(kAuth, {{"reason", "missing_token"}}), 1);
  EXPECT_EQ(s.Count(kAuth, {{"reason", "missing_scope"}}), 1);
  EXPECT_EQ(s.Count(kAuth, {{"reason", "policy_not_allowed"}}), 1);
  EXPECT_EQ(s.GatehouseSeries()[kAuth].size(), 4u) << s.body();

  // The counter cache: every decision above read its key once (22 reads);
  // only the first read of each of the 3 keys went to RocksDB.
  const std::string kCache = "gatehouse_state_cache_reads_total";
  EXPECT_EQ(s.Count(kCache, {{"result", "miss"}}), 3);
  EXPECT_EQ(s.Count(kCache, {{"result", "hit"}}), 19);
  EXPECT_EQ(s.Value("gatehouse_state_cache_entries"), 3);
  EXPECT_GT(s.Value("gatehouse_state_cache_bytes"), 0);
  // The decisions changed counter states: they are dirty (held in memory,
  // durable in the redo log) until a checkpoint, which may have run.
  EXPECT_GT(s.Value("gatehouse_state_dirty_keys") +
                s.Value("gatehouse_state_checkpoints_total"),
            0);

  // Each of those decisions was committed in some group, alone or not.
  const double groups = s.Value("gatehouse_storage_commit_groups_total");
  EXPECT_GE(groups, 1);
  EXPECT_GE(s.Value("gatehouse_storage_grouped_commits_total"), groups);
  // No write failed.
  EXPECT_EQ(s.Value("gatehouse_storage_dependent_failures_total"), 0);
  EXPECT_GE(s.Value("gatehouse_audit_head_sequence"), 20);
  EXPECT_EQ(s.Value("gatehouse_inflight_requests"), 0);
  EXPECT_EQ(s.Count("gatehouse_storage_errors_total", {{"operation", "read"}}),
            0);
  EXPECT_EQ(s.Count("gatehouse_storage_errors_total", {{"operation", "write"}}),
            0);
  EXPECT_EQ(s.Value("gatehouse_config_reloads_total",
                    {{"kind", "policies"}, {"result", "success"}}),
            1);
  EXPECT_EQ(s.Value("gatehouse_config_reloads_total",
                    {{"kind", "credentials"}, {"result", "success"}}),
            1);

  // Not a skip: promtool comes with install-deps; without it this check
  // would silently vanish.
  mt::TempDir scratch;
  const mt::CommandResult check =
      mt::RunCommand({PROMTOOL_BIN, "check", "metrics"},
                     scratch.WriteFile("scrape.txt", s.body()));
  EXPECT_EQ(check.exit_code, 0) << PROMTOOL_BIN << " check metrics said:\n"
                                << check.output << "\non:\n"
                                << s.body();
}

TEST_F(MetricsTest, RepeatedRefusalsAreCountedExactlyAndShownAggregated) {
  // 50 Checks from a client without the check scope, from one address: one
  // series, audited as its first event and one event counting the other 49.
  // (Calls without a known token are refused before any handler, by the
  // token gate, and only counted.)
  auto stub = v1::RateLimiter::NewStub(grpc::CreateChannel(
      server_->address(), grpc::InsecureChannelCredentials()));
  for (int i = 0; i < 50; ++i) {
    v1::CheckRequest request;
    *request.add_subjects() =
        Client::MakeSubject("login_ip", {{"ip", "192.0.2.10"}});
    v1::CheckResponse response;
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", std::string("Bearer ") + kReaderToken);
    ASSERT_EQ(stub->Check(&ctx, request, &response).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
  }
  // The aggregated count is published every second.
  const std::string kAggregated = "gatehouse_audit_refusals_aggregated_total";
  const auto deadline = SteadyClock::now() + std::chrono::seconds(10);
  Scrape s = ScrapeMetrics();
  while (s.Value(kAggregated) != 49 && SteadyClock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    s = ScrapeMetrics();
  }
  EXPECT_EQ(s.Value(kAggregated), 49) << s.body();
  EXPECT_EQ(
      s.Count("gatehouse_auth_failures_total", {{"reason", "missing_scope"}}),
      50);
}

TEST_F(MetricsTest, PrometheusScrapesTheServerAndSeesTheAllowedChecks) {
  const SteadyClock::time_point deadline =
      SteadyClock::now() + std::chrono::seconds(60);
  constexpr int kAllowed = 7;
  EXPECT_EQ(CheckLoginIp("198.51.100.20", kAllowed), kAllowed);
  EXPECT_EQ(CheckLoginIp("198.51.100.20", 3, /*hits=*/20), 0);

  mt::TempDir dir;
  PrometheusProcess prometheus(dir, server_->metrics_port());
  ASSERT_TRUE(prometheus.Start(deadline))
      << PROMETHEUS_BIN << " did not become ready:\n"
      << prometheus.log();
  const std::string allowed =
      "gatehouse_decisions_total{policy=\"login_ip\",rpc=\"check\","
      "decision=\"allow\"}";
  EXPECT_EQ(prometheus.WaitFor(allowed, std::to_string(kAllowed), deadline),
            std::to_string(kAllowed))
      << prometheus.log();
  EXPECT_EQ(prometheus.Query("gatehouse_decisions_total{policy=\"login_ip\","
                             "rpc=\"check\",decision=\"deny\"}"),
            "3");
  EXPECT_EQ(prometheus.Query("up{job=\"gatehouse\"}"), "1");
  EXPECT_EQ(prometheus.Stop(), 0) << prometheus.log();
}

TEST_F(MetricsTest, SeriesStayBoundedWhateverIpsAndUsersAreSeen) {
  // One Record of each policy first, so every series the traffic below
  // legitimately needs exists before the baseline scrape.
  Record(Client::MakeSubject("login_ip", {{"ip", "192.0.2.1"}}));
  Record(Client::MakeSubject(
      "failed_auth_user_ip",
      {{"user", "first@example.com"}, {"ip", "192.0.2.1"}}));
  const Scrape before = ScrapeMetrics();

  constexpr int kDistinct = 500;
  std::vector<std::string> ips, users;
  for (int i = 0; i < kDistinct; ++i) {
    ips.push_back("10.77." + std::to_string(i / 200) + "." +
                  std::to_string(i % 200 + 1));
    users.push_back("cardinality-" + std::to_string(i) + "@example.org");
    Record(Client::MakeSubject("login_ip", {{"ip", ips.back()}}));
    Record(Client::MakeSubject("failed_auth_user_ip",
                               {{"user", users.back()}, {"ip", "192.0.2.2"}}));
  }
  const Scrape after = ScrapeMetrics();
  EXPECT_EQ(after.Count("gatehouse_decisions_total", {{"policy", "login_ip"},
                                                      {"rpc", "record"},
                                                      {"decision", "allow"}}),
            kDistinct + 1);
  EXPECT_EQ(after.Count("gatehouse_grpc_requests_total",
                        {{"method", "Record"}, {"code", "OK"}}),
            2 * kDistinct + 2);

  // The same series as before, family by family: nothing was added per IP
  // or user.
  const auto series_before = before.GatehouseSeries();
  const auto series_after = after.GatehouseSeries();
  size_t total = 0;
  for (const auto& [family, series] : series_after) {
    const auto it = series_before.find(family);
    ASSERT_NE(it, series_before.end()) << "new family " << family;
    EXPECT_EQ(series, it->second) << family;
    total += series.size();
  }
  EXPECT_LT(total, 200u) << after.body();
  for (int i = 0; i < kDistinct; ++i) {
    EXPECT_EQ(after.body().find(ips[i]), std::string::npos) << ips[i];
    EXPECT_EQ(after.body().find(users[i]), std::string::npos) << users[i];
  }
  EXPECT_EQ(after.body().find("@example"), std::string::npos);
}

}  // namespace
}  // namespace gatehouse::testing
