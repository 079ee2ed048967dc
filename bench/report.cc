#include "bench/report.h"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <optional>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace gatehouse::bench {
namespace {

std::string Quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += absl::StrFormat("\\u%04x", c);
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::optional<double> Number(const std::map<std::string, Record>& runs,
                             const std::string& label,
                             const std::string& field) {
  auto run = runs.find(label);
  if (run == runs.end()) return std::nullopt;
  auto value = run->second.find(field);
  if (value == run->second.end() || value->second.empty()) return std::nullopt;
  char* end = nullptr;
  const double d = std::strtod(value->second.c_str(), &end);
  if (end == value->second.c_str()) return std::nullopt;
  return d;
}

// A target: value (a ratio or a figure) against a bound.
struct Target {
  std::string name;
  std::optional<double> value;
  std::string unit;  // "x" for ratios.
  double bound;
  bool at_least;     // value >= bound, else value < bound.
  bool informative;  // No target; reported for context.
};

}  // namespace

JsonLine& JsonLine::Add(const std::string& key, const std::string& value) {
  if (!body_.empty()) body_ += ",";
  body_ += Quote(key) + ":" + Quote(value);
  return *this;
}

JsonLine& JsonLine::Add(const std::string& key, double value) {
  if (!body_.empty()) body_ += ",";
  body_ += Quote(key) + ":" +
           (std::isfinite(value) ? absl::StrFormat("%.6g", value) : "null");
  return *this;
}

absl::StatusOr<Record> ParseJsonLine(const std::string& line) {
  Record record;
  size_t i = line.find('{');
  if (i == std::string::npos) return absl::InvalidArgumentError("no object");
  ++i;
  auto skip = [&] {
    while (i < line.size() && isspace(static_cast<unsigned char>(line[i]))) ++i;
  };
  auto string = [&](std::string* out) -> bool {
    if (i >= line.size() || line[i] != '"') return false;
    for (++i; i < line.size() && line[i] != '"'; ++i) {
      if (line[i] == '\\' && i + 1 < line.size()) ++i;
      *out += line[i];
    }
    ++i;
    return true;
  };
  for (;;) {
    skip();
    if (i < line.size() && line[i] == '}') return record;
    std::string key, value;
    if (!string(&key)) return absl::InvalidArgumentError("expected a key");
    skip();
    if (i >= line.size() || line[i] != ':') {
      return absl::InvalidArgumentError("expected ':'");
    }
    ++i;
    skip();
    if (i < line.size() && line[i] == '"') {
      string(&value);
    } else {
      while (i < line.size() && line[i] != ',' && line[i] != '}') {
        value += line[i++];
      }
      while (!value.empty() &&
             isspace(static_cast<unsigned char>(value.back())))
        value.pop_back();
    }
    record[key] = value;
    skip();
    if (i < line.size() && line[i] == ',') ++i;
  }
}

absl::Status Report(const std::string& jsonl, const std::string& json_out) {
  std::ifstream in(jsonl);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", jsonl));
  std::vector<std::string> lines;
  std::vector<Record> ordered;
  std::map<std::string, Record> by_label;
  for (std::string line; std::getline(in, line);) {
    if (line.find('{') == std::string::npos) continue;
    absl::StatusOr<Record> r = ParseJsonLine(line);
    if (!r.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(jsonl, ": ", r.status().message(), ": ", line));
    }
    lines.push_back(line);
    ordered.push_back(*r);
    by_label[(*r)["label"]] = *r;
  }

  if (auto m = by_label.find("machine"); m != by_label.end()) {
    std::printf("Machine: %s, %s cores, kernel %s, load before: %s\n",
                m->second["cpu"].c_str(), m->second["nproc"].c_str(),
                m->second["kernel"].c_str(), m->second["load"].c_str());
  }
  std::printf("\n%-26s %12s %10s %9s %9s %9s %6s %6s %8s %6s\n", "run",
              "decisions/s", "calls/s", "p50 us", "p99 us", "p999 us", "srvCPU",
              "cliCPU", "peakRSS", "deny%");
  for (const Record& r : ordered) {
    if (r.count("decisions_per_s") == 0) continue;
    auto num = [&](const char* f) {
      auto it = r.find(f);
      return it == r.end() ? 0.0 : std::strtod(it->second.c_str(), nullptr);
    };
    const double decisions = num("decisions");
    std::printf(
        "%-26s %12.0f %10.0f %9.0f %9.0f %9.0f %6.2f %6.2f %7.0fM %6.1f%s\n",
        r.at("label").c_str(), num("decisions_per_s"), num("calls_per_s"),
        num("p50_us"), num("p99_us"), num("p999_us"), num("server_cores"),
        num("client_cores"), num("server_peak_rss_mib"),
        decisions > 0 ? 100 * num("denied") / decisions : 0.0,
        num("errors") > 0 ? absl::StrCat("  errors: ", num("errors")).c_str()
                          : "");
  }

  auto ratio = [&](const std::string& a, const std::string& b,
                   const char* field = "decisions_per_s") {
    std::optional<double> x = Number(by_label, a, field);
    std::optional<double> y = Number(by_label, b, field);
    if (!x || !y || *y == 0) return std::optional<double>();
    return std::optional<double>(*x / *y);
  };
  std::vector<Target> targets = {
      {"Check / no-op floor (calls/s)", ratio("gh_check_ips", "gh_health"), "x",
       0.8, true, false},
      {"Record / no-op floor (calls/s)", ratio("gh_record_users", "gh_health"),
       "x", 0.8, true, false},
      {"Peek / no-op floor (calls/s)", ratio("gh_peek_hot", "gh_health"), "x",
       0.95, true, false},
      {"Envoy ShouldRateLimit / unary Check (calls/s)",
       ratio("gh_envoy_ips", "gh_check_ips"), "x", 0.9, true, false},
      {"Peek / Redis+Lua (decisions/s)", ratio("gh_peek_hot", "redis_peek_hot"),
       "x", 1, true, false},
      {"Check / Redis+Lua (decisions/s)",
       ratio("gh_check_ips", "redis_check_ips"), "x", 1, true, false},
      {"Record / Redis+Lua (decisions/s)",
       ratio("gh_record_users", "redis_record_users"), "x", 1, true, false},
      {"Sign-in flow / Redis+Lua (decisions/s)",
       ratio("gh_signin", "redis_signin"), "x", 1, true, false},
      {"Check x16 batch / Redis+Lua unary (decisions/s)",
       ratio("gh_check_batch16", "redis_check_ips"), "x", 5, true, false},
      {"Check x16 batch / Redis+Lua x16 script (decisions/s)",
       ratio("gh_check_batch16", "redis_check_batch16"), "x", 1.5, true, false},
      {"Coalesced sign-ins / one call per decision (decisions/s)",
       ratio("gh_coalesced", "gh_uncoalesced"), "x", 3, true, false},
      {"Coalesced sign-ins p99", Number(by_label, "gh_coalesced", "p99_us"),
       "us", 2000, false, false},
      {"Node sign-ins / rate-limiter-flexible (decisions/s)",
       ratio("node_gh_signin", "node_rlf_redis"), "x", 1, true, false},
      {"Node sign-ins p99", Number(by_label, "node_gh_signin", "p99_us"), "us",
       5000, false, false},
      {"Node sign-ins on BatchStream / as Batch RPCs (decisions/s)",
       ratio("node_gh_signin", "node_gh_signin_batch_rpc"), "x", 0, true, true},
      {"No-op floor p99 at half of its peak (the transport's own)",
       Number(by_label, "gh_health_half", "p99_us"), "us", 0, false, true},
      {"Peek p99 at half of peak load",
       Number(by_label, "gh_peek_hot_half", "p99_us"), "us", 1000, false,
       false},
      {"Check p99 at half of peak load",
       Number(by_label, "gh_check_ips_half", "p99_us"), "us", 1000, false,
       false},
      {"Botnet server peak RSS",
       Number(by_label, "gh_botnet", "server_peak_rss_mib"), "MiB", 512, false,
       false},
      {"Botnet counters on disk per key (compacted)",
       Number(by_label, "botnet_disk", "counter_bytes_per_key"), "B", 64, false,
       false},
      {"Botnet audit log on disk per event (compacted)",
       Number(by_label, "botnet_disk", "audit_bytes_per_event"), "B", 0, false,
       true},
      {"Botnet / hot-key Peek throughput (same server and run)",
       ratio("gh_botnet", "gh_botnet_ref_peek_hot"), "x", 0.5, true, false},
      {"Botnet / unary Record throughput",
       ratio("gh_botnet", "gh_record_users"), "x", 0, true, true},
      {"Botnet restart to ready", Number(by_label, "botnet_restart", "seconds"),
       "s", 5, false, false},
      {"ListLockouts first page p99, 10M counters (server)",
       Number(by_label, "lockouts_grpc_first", "p99_ms"), "ms", 10, false,
       false},
      {"ListLockouts page deep in p99, 10M counters (server)",
       Number(by_label, "lockouts_grpc_deep", "p99_ms"), "ms", 10, false,
       false},
      {"ListLockouts policy page deep in p99 (server)",
       Number(by_label, "lockouts_grpc_policy_deep", "p99_ms"), "ms", 10, false,
       false},
      {"sync_writes / default: Check",
       ratio("gh_sync_check_ips", "gh_check_ips"), "x", 0, true, true},
      {"sync_writes / default: Record",
       ratio("gh_sync_record_users", "gh_record_users"), "x", 0, true, true},
      {"sync_writes / default: sign-in", ratio("gh_sync_signin", "gh_signin"),
       "x", 0, true, true},
      {"sync_writes / default: Check x16",
       ratio("gh_sync_check_batch16", "gh_check_batch16"), "x", 0, true, true},
  };
  std::printf("\n%-56s %12s %12s %s\n", "target", "measured", "target",
              "verdict");
  std::string targets_json;
  for (const Target& t : targets) {
    std::string verdict = "not measured";
    std::string bound =
        t.informative ? "-"
                      : absl::StrCat(t.at_least ? ">= " : "< ",
                                     absl::StrFormat("%g", t.bound), t.unit);
    if (t.value.has_value()) {
      const bool met = t.at_least ? *t.value >= t.bound : *t.value < t.bound;
      verdict = t.informative ? "info" : met ? "MET" : "NOT MET";
    }
    std::printf(
        "%-56s %12s %12s %s\n", t.name.c_str(),
        t.value ? absl::StrFormat("%.2f%s", *t.value, t.unit).c_str() : "-",
        bound.c_str(), verdict.c_str());
    JsonLine j;
    j.Add("name", t.name).Add("unit", t.unit).Add("verdict", verdict);
    if (t.value) j.Add("value", *t.value);
    if (!t.informative) {
      j.Add("bound", t.bound).Add("at_least", t.at_least ? "true" : "false");
    }
    if (!targets_json.empty()) targets_json += ",\n    ";
    targets_json += j.str();
  }
  std::string runs_json;
  for (const std::string& line : lines) {
    if (!runs_json.empty()) runs_json += ",\n    ";
    runs_json += line;
  }
  std::ofstream out(json_out, std::ios::trunc);
  out << "{\n  \"runs\": [\n    " << runs_json
      << "\n  ],\n  \"targets\": [\n    " << targets_json << "\n  ]\n}\n";
  if (!out.flush()) {
    return absl::UnavailableError(absl::StrCat("cannot write ", json_out));
  }
  std::printf("\nwrote %s\n", json_out.c_str());
  return absl::OkStatus();
}

}  // namespace gatehouse::bench
