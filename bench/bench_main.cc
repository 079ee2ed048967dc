// gatehouse_bench: the load generator of bench/run.sh. One invocation runs
// one scenario against one server and appends a JSON line with the figures;
// --report turns the lines into the table and the target ratios;
// --compact_data_dir measures a (stopped) server's data on disk.

#include <fstream>
#include <iostream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "bench/client_load.h"
#include "bench/grpc_transport.h"
#include "bench/load_loop.h"
#include "bench/process_stats.h"
#include "bench/redis_transport.h"
#include "bench/report.h"
#include "bench/workload.h"
#include "service/clock/real_clock.h"
#include "service/storage/rocksdb_store.h"

ABSL_FLAG(std::string, target, "gatehouse",
          "gatehouse (async gRPC), redis, or client (blocking calls from "
          "--inflight threads through one gatehouse::Client)");
ABSL_FLAG(std::string, addr, "127.0.0.1:50051", "Server HOST:PORT");
ABSL_FLAG(std::string, token_file, "", "Bearer token for gatehouse calls");
ABSL_FLAG(std::string, scenario, "health",
          "health, peek_hot, check_ips, record_users, signin, check_batch, "
          "botnet (see bench/workload.h)");
ABSL_FLAG(uint64_t, keys, 100000, "Distinct keys (IPs, users)");
ABSL_FLAG(std::string, dist, "uniform", "Key distribution: uniform, zipf, seq");
ABSL_FLAG(double, zipf_s, 0.99, "Zipf exponent");
ABSL_FLAG(int, batch, 16, "Subjects per call of check_batch");
ABSL_FLAG(double, failure_rate, 0.1, "Failed sign-ins (signin)");
ABSL_FLAG(int, threads, 1, "Load threads (each with its own queue)");
ABSL_FLAG(int, channels, 4, "Connections (gRPC channels or Redis sockets)");
ABSL_FLAG(int, inflight, 64, "Calls in flight at once, in total");
ABSL_FLAG(absl::Duration, warmup, absl::Seconds(2), "Not measured");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(10), "Measured");
ABSL_FLAG(double, rate, 0, "Pace to this many calls/s (0: closed loop)");
ABSL_FLAG(absl::Duration, deadline, absl::Seconds(5), "Per-call deadline");
ABSL_FLAG(absl::Duration, coalesce_linger, absl::ZeroDuration(),
          "--target=client: coalesce concurrent calls into Batch RPCs after "
          "this linger (0: one RPC per call)");
ABSL_FLAG(int, server_pid, 0, "Server process to sample (CPU, RSS)");
ABSL_FLAG(std::string, label, "", "Name of this run in the results");
ABSL_FLAG(std::string, mode, "", "Free-form, e.g. the durability mode");
ABSL_FLAG(std::string, out, "", "Append the result line to this file");
ABSL_FLAG(std::string, report, "",
          "Instead of running: read this JSON-lines file, print the table "
          "and ratios, write --json_out");
ABSL_FLAG(std::string, json_out, "bench/results.json", "For --report");
ABSL_FLAG(std::string, compact_data_dir, "",
          "Instead of running: open this (stopped) server's data dir, "
          "compact it and print its size per counter key as a JSON line");

namespace gatehouse::bench {
namespace {

int Fail(const absl::Status& status) {
  std::cerr << "gatehouse_bench: " << status << "\n";
  return 1;
}

absl::Status Append(const std::string& path, const std::string& line) {
  std::cout << line << std::endl;
  if (path.empty()) return absl::OkStatus();
  std::ofstream out(path, std::ios::app);
  out << line << "\n";
  if (!out.flush()) return absl::UnavailableError("cannot write " + path);
  return absl::OkStatus();
}

int Compact(const std::string& dir) {
  absl::StatusOr<std::unique_ptr<RocksDbStore>> store =
      OpenRocksDbStore(dir, RealClock::Get());
  if (!store.ok()) return Fail(store.status());
  if (absl::Status s = (*store)->maintenance().CompactAll(); !s.ok())
    return Fail(s);
  absl::StatusOr<uint64_t> keys = (*store)->maintenance().CountCounterKeys();
  if (!keys.ok()) return Fail(keys.status());
  const double counter_bytes =
      (*store)->maintenance().ApproximateCounterBytes();
  const double audit_bytes = (*store)->maintenance().ApproximateAuditBytes();
  const double events =
      static_cast<double>((*store)->audit_log().HeadSequence() + 1 -
                          (*store)->audit_log().OldestSequence());
  JsonLine j;
  j.Add("label", absl::GetFlag(FLAGS_label).empty()
                     ? std::string("compacted")
                     : absl::GetFlag(FLAGS_label))
      .Add("counter_keys", static_cast<double>(*keys))
      .Add("counter_bytes", counter_bytes)
      .Add("counter_bytes_per_key", *keys > 0 ? counter_bytes / *keys : 0)
      .Add("audit_events", events)
      .Add("audit_bytes", audit_bytes)
      .Add("audit_bytes_per_event", events > 0 ? audit_bytes / events : 0);
  absl::Status s = Append(absl::GetFlag(FLAGS_out), j.str());
  return s.ok() ? 0 : Fail(s);
}

absl::StatusOr<std::string> ReadToken(const std::string& path) {
  if (path.empty()) return std::string();
  std::ifstream in(path);
  if (!in) return absl::NotFoundError("--token_file: cannot read " + path);
  std::string token((std::istreambuf_iterator<char>(in)), {});
  return std::string(absl::StripAsciiWhitespace(token));
}

int Run() {
  WorkloadOptions w;
  w.scenario = absl::GetFlag(FLAGS_scenario);
  w.keys = absl::GetFlag(FLAGS_keys);
  absl::StatusOr<Distribution> dist =
      ParseDistribution(absl::GetFlag(FLAGS_dist));
  if (!dist.ok()) return Fail(dist.status());
  w.distribution = *dist;
  w.zipf_s = absl::GetFlag(FLAGS_zipf_s);
  w.batch = absl::GetFlag(FLAGS_batch);
  w.failure_rate = absl::GetFlag(FLAGS_failure_rate);
  absl::StatusOr<std::unique_ptr<Workload>> workload = Workload::Create(w);
  if (!workload.ok()) return Fail(workload.status());

  LoadOptions load;
  load.threads = std::max(1, absl::GetFlag(FLAGS_threads));
  load.inflight = std::max(load.threads, absl::GetFlag(FLAGS_inflight));
  load.warmup = absl::GetFlag(FLAGS_warmup);
  load.duration = absl::GetFlag(FLAGS_duration);
  load.rate = absl::GetFlag(FLAGS_rate);
  const int channels = std::max(load.threads, absl::GetFlag(FLAGS_channels));
  const std::string addr = absl::GetFlag(FLAGS_addr);
  const std::string target = absl::GetFlag(FLAGS_target);

  std::function<std::unique_ptr<Transport>(int)> make_transport;
  ClientOptions client_options;
  std::vector<std::shared_ptr<grpc::Channel>> grpc_channels;
  std::string redis_host, redis_sha;
  int redis_port = 0;
  // Each thread gets its share of the connections.
  auto share = [&](int t) {
    return channels / load.threads + (t < channels % load.threads ? 1 : 0);
  };
  if (target == "gatehouse") {
    absl::StatusOr<std::string> token =
        ReadToken(absl::GetFlag(FLAGS_token_file));
    if (!token.ok()) return Fail(token.status());
    grpc_channels = OpenChannels(addr, channels);
    for (auto& c : grpc_channels) {
      if (!c->WaitForConnected(std::chrono::system_clock::now() +
                               std::chrono::seconds(10))) {
        return Fail(absl::UnavailableError("cannot connect to " + addr));
      }
    }
    const absl::Duration deadline = absl::GetFlag(FLAGS_deadline);
    make_transport = [&, token = *token, deadline](int t) {
      std::vector<std::shared_ptr<grpc::Channel>> mine;
      for (size_t i = t; i < grpc_channels.size(); i += load.threads) {
        mine.push_back(grpc_channels[i]);
      }
      return std::make_unique<GrpcTransport>(mine, token, deadline);
    };
  } else if (target == "client") {
    absl::StatusOr<std::string> token =
        ReadToken(absl::GetFlag(FLAGS_token_file));
    if (!token.ok()) return Fail(token.status());
    client_options.target = addr;
    client_options.token = *token;
    client_options.deadline = absl::GetFlag(FLAGS_deadline);
    client_options.coalesce_linger = absl::GetFlag(FLAGS_coalesce_linger);
  } else if (target == "redis") {
    const size_t colon = addr.rfind(':');
    if (colon == std::string::npos ||
        !absl::SimpleAtoi(addr.substr(colon + 1), &redis_port)) {
      return Fail(absl::InvalidArgumentError("--addr: HOST:PORT"));
    }
    redis_host = addr.substr(0, colon);
    absl::StatusOr<std::string> sha = LoadRedisScript(redis_host, redis_port);
    if (!sha.ok()) return Fail(sha.status());
    redis_sha = *sha;
    make_transport = [&](int t) -> std::unique_ptr<Transport> {
      absl::StatusOr<std::unique_ptr<RedisTransport>> transport =
          RedisTransport::Connect(redis_host, redis_port, share(t), redis_sha);
      if (!transport.ok()) {
        Fail(transport.status());
        std::exit(1);
      }
      return *std::move(transport);
    };
  } else {
    return Fail(
        absl::InvalidArgumentError("--target: gatehouse, redis or client"));
  }

  const pid_t pid = absl::GetFlag(FLAGS_server_pid);
  ProcessSample before, after;
  double client_before = 0, client_after = 0;
  load.on_measure_start = [&] {
    if (pid > 0) {
      ResetPeakRss(pid);
      before = SampleProcess(pid);
    }
    client_before = SelfCpuSeconds();
  };
  load.on_measure_end = [&] {
    if (pid > 0) after = SampleProcess(pid);
    client_after = SelfCpuSeconds();
  };
  LoadResult r;
  if (target == "client") {
    std::unique_ptr<Client> client = Client::Create(client_options);
    r = RunClientLoad(load, **workload, *client);
  } else {
    r = RunLoad(load, **workload, make_transport);
  }

  const double s = r.seconds > 0 ? r.seconds : 1;
  auto us = [&](double q) { return r.latency.Quantile(q) / 1e3; };
  JsonLine j;
  j.Add("label", absl::GetFlag(FLAGS_label).empty()
                     ? absl::StrCat(target, "_", w.scenario)
                     : absl::GetFlag(FLAGS_label))
      .Add("target", target)
      .Add("scenario", w.scenario)
      .Add("mode", absl::GetFlag(FLAGS_mode))
      .Add("keys", static_cast<double>(w.keys))
      .Add("dist", absl::GetFlag(FLAGS_dist))
      .Add("batch", w.scenario == "check_batch" ? w.batch : 1)
      .Add("threads", load.threads)
      .Add("channels", channels)
      .Add("inflight", load.inflight)
      .Add("rate", load.rate)
      .Add("seconds", r.seconds)
      .Add("calls", static_cast<double>(r.calls))
      .Add("errors", static_cast<double>(r.errors))
      .Add("decisions", static_cast<double>(r.decisions))
      .Add("denied", static_cast<double>(r.denied))
      .Add("calls_per_s", (r.calls - r.errors) / s)
      .Add("decisions_per_s", r.decisions / s)
      .Add("p50_us", us(0.5))
      .Add("p90_us", us(0.9))
      .Add("p99_us", us(0.99))
      .Add("p999_us", us(0.999))
      .Add("max_us", r.latency.max() / 1e3)
      .Add("client_cores", (client_after - client_before) / s);
  if (before.valid && after.valid) {
    const double cpu = after.cpu_seconds - before.cpu_seconds;
    j.Add("server_cpu_s", cpu)
        .Add("server_cores", cpu / s)
        .Add("decisions_per_server_cpu_s", cpu > 0 ? r.decisions / cpu : 0)
        .Add("server_peak_rss_mib", after.peak_rss_bytes / 1048576.0)
        .Add("server_rss_mib", after.rss_bytes / 1048576.0);
  }
  if (!r.first_error.empty()) j.Add("first_error", r.first_error);
  if (absl::Status st = Append(absl::GetFlag(FLAGS_out), j.str()); !st.ok()) {
    return Fail(st);
  }
  if (r.calls == 0 || r.errors * 100 > r.calls) {
    std::cerr << "gatehouse_bench: " << r.errors << " of " << r.calls
              << " calls failed" << (r.first_error.empty() ? "" : ": ")
              << r.first_error << "\n";
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace gatehouse::bench

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "gatehouse_bench --target=gatehouse|redis --addr=HOST:PORT "
      "--scenario=NAME [--keys=N --dist=uniform|zipf|seq --inflight=N ...]");
  absl::ParseCommandLine(argc, argv);
  using namespace gatehouse::bench;
  if (const std::string report = absl::GetFlag(FLAGS_report); !report.empty()) {
    absl::Status s = Report(report, absl::GetFlag(FLAGS_json_out));
    return s.ok() ? 0 : Fail(s);
  }
  if (const std::string dir = absl::GetFlag(FLAGS_compact_data_dir);
      !dir.empty()) {
    return Compact(dir);
  }
  return Run();
}
