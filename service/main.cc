// gatehouse: the rate limiter and audit server. Flags and wiring only.

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "service/audit/refusal_aggregator.h"
#include "service/auth/authenticator.h"
#include "service/auth/secret_strength.h"
#include "service/clock/real_clock.h"
#include "service/config/policy_file.h"
#include "service/core/limiter.h"
#include "service/core/pseudonymizer.h"
#include "service/grpc/audit_service.h"
#include "service/grpc/decision_pool.h"
#include "service/grpc/inflight_limit.h"
#include "service/grpc/rate_limiter_service.h"
#include "service/grpc/server_credentials.h"
#include "service/logging/json_log.h"
#include "service/logging/log_rate_limiter.h"
#include "service/metrics/gatehouse_metrics.h"
#include "service/metrics/metrics_server.h"
#include "service/metrics/registry.h"
#include "service/storage/rocksdb_counter_store.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50051",
          "gRPC listen address HOST:PORT; port 0 picks a free port (see "
          "--port_file)");
ABSL_FLAG(
    std::string, port_file, "",
    "After start-up, write the bound gRPC port to this file (atomically)");
ABSL_FLAG(std::string, metrics_listen, "127.0.0.1:9464",
          "Prometheus /metrics HTTP address HOST:PORT (port 0 picks one; empty "
          "disables)");
ABSL_FLAG(std::string, metrics_port_file, "",
          "After start-up, write the bound metrics port to this file");
ABSL_FLAG(std::string, data_dir, "./data", "Directory of the RocksDB state");
ABSL_FLAG(std::string, policies, "", "Policy file (YAML); required");
ABSL_FLAG(std::string, credentials, "",
          "Credentials file (YAML): clients, token hashes, scopes");
ABSL_FLAG(bool, allow_unauthenticated, false,
          "Serve without --credentials; only accepted on a loopback address");
ABSL_FLAG(std::string, tls_cert_file, "",
          "PEM certificate chain for TLS on the gRPC port (re-read on change)");
ABSL_FLAG(std::string, tls_key_file, "", "PEM private key for TLS");
ABSL_FLAG(std::string, tls_client_ca_file, "",
          "mTLS: require client certificates signed by this CA (PEM)");
ABSL_FLAG(std::vector<std::string>, tls_client_allowlist, {},
          "mTLS: client certificate identities (SAN: DNS name, URI, e-mail) "
          "admitted, comma-separated, exact matches only (no wildcards)");
ABSL_FLAG(bool, allow_plaintext, false,
          "Serve plaintext on a non-loopback --listen (warns); without it "
          "the server refuses to start there without TLS");
ABSL_FLAG(std::string, pseudonym_key_file, "",
          "Secret key for pseudonymising personal dimensions (HMAC-SHA-256); "
          "required unless the policy file sets personal_dimensions: []");
ABSL_FLAG(int, max_streams_per_client, 8,
          "Audit and WatchCeilings streams one client may hold open (0 = no "
          "cap); more get RESOURCE_EXHAUSTED");
ABSL_FLAG(int, max_inflight_calls, 512,
          "Check/Peek/Record/Reset/Batch calls worked on at once (0 = no "
          "bound); more are refused at once with RESOURCE_EXHAUSTED");
ABSL_FLAG(int, max_threads, 1024,
          "Threads of gRPC's synchronous server, which serves the Audit and "
          "WatchCeilings streams; a stream that finds none free is refused "
          "with RESOURCE_EXHAUSTED. Bounds memory under a flood of streams");
ABSL_FLAG(int, decision_threads, -1,
          "Threads that decide Check/Peek/Record/Reset/Batch calls; 0 = "
          "inline on gRPC's own threads (fastest while a decision does not "
          "wait for an fsync). -1 (default): 64 with --sync_writes, so that "
          "that many commits can share one fsync, else 0");
ABSL_FLAG(bool, sync_writes, false,
          "fsync every commit (survives power loss, slower)");
ABSL_FLAG(int, block_cache_mb, 64, "RocksDB block cache size in MiB");
ABSL_FLAG(int, write_buffer_mb, 32,
          "RocksDB memtable size in MiB, per column family (counters, "
          "audit); up to two of each are held in memory");
ABSL_FLAG(absl::Duration, audit_retention, absl::Hours(24 * 30),
          "Keep audit events this long (0 = no age limit)");
ABSL_FLAG(int64_t, audit_max_mb, 1024,
          "Keep at most about this many MiB of audit events (0 = no limit)");
ABSL_FLAG(absl::Duration, retention_interval, absl::Minutes(1),
          "How often audit retention runs");
ABSL_FLAG(absl::Duration, refusal_audit_interval, absl::Seconds(10),
          "Refused calls of one peer, client, rpc and reason within this "
          "interval are audited as one event with their count");
ABSL_FLAG(absl::Duration, watch_interval, absl::Seconds(2),
          "How often the policy and credentials files are checked for changes "
          "(reloaded like on SIGHUP); 0 disables watching");
ABSL_FLAG(
    absl::Duration, shutdown_grace, absl::Seconds(2),
    "On SIGTERM, how long in-flight calls may finish before cancellation");
ABSL_FLAG(std::string, log_level, "info", "trace, debug, info, warn, error");

namespace gatehouse {
namespace {

int Fail(const absl::Status& status) {
  LogJson(spdlog::level::critical, "cannot start",
          {{"error", status.ToString()}});
  return 1;
}

absl::Status WritePortFile(const std::string& path, int port) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << port << "\n";
    if (!out.flush()) {
      return absl::UnavailableError(absl::StrCat("cannot write ", tmp));
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return absl::UnavailableError(absl::StrCat("cannot rename to ", path));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadSecretFile(const std::string& path,
                                           absl::string_view flag) {
  std::ifstream in(path);
  if (!in) {
    return absl::NotFoundError(absl::StrCat(flag, ": cannot read ", path));
  }
  std::stringstream text;
  text << in.rdbuf();
  std::string secret(absl::StripAsciiWhitespace(text.str()));
  if (secret.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, ": ", path, " is empty"));
  }
  return secret;
}

// Personal dimensions need a pseudonym key; checked at start-up and reload.
absl::Status CheckPseudonymization(const PolicySet& policies,
                                   const Pseudonymizer* pseudonymizer) {
  if (!policies.personal_dimensions().empty() && pseudonymizer == nullptr) {
    return absl::InvalidArgumentError(
        "--pseudonym_key_file: required while the policy file has "
        "personal_dimensions (default [user, email]; set [] to disable)");
  }
  return absl::OkStatus();
}

// The contents of the watched config files as last loaded; a change
// triggers a reload. Contents, not mtimes: Kubernetes updates a mounted
// ConfigMap by swapping a symlink, which keeps the old file's mtime.
class ConfigWatcher {
 public:
  explicit ConfigWatcher(std::vector<std::string> paths)
      : paths_(std::move(paths)) {
    Changed();
  }
  // Whether any file's contents differ from the last call.
  bool Changed() {
    bool changed = false;
    for (size_t i = 0; i < paths_.size(); ++i) {
      std::ifstream in(paths_[i]);
      std::stringstream text;
      text << in.rdbuf();
      if (contents_.size() <= i) {
        contents_.push_back(text.str());
      } else if (contents_[i] != text.str()) {
        contents_[i] = text.str();
        changed = true;
      }
    }
    return changed;
  }

 private:
  const std::vector<std::string> paths_;
  std::vector<std::string> contents_;
};

void CountReload(metrics::GatehouseMetrics& m, const char* kind, bool ok) {
  using metrics::GatehouseMetrics;
  m.config_reloads_total
      .WithLabels({kind, ok ? GatehouseMetrics::kResultSuccess
                            : GatehouseMetrics::kResultFailure})
      .Increment();
  if (ok) {
    m.config_last_reload_success_timestamp_seconds.WithLabels({kind}).Set(
        absl::ToDoubleSeconds(RealClock::Get()->Now() - absl::UnixEpoch()));
  }
}

void Reload(const std::string& policies_path,
            const std::string& credentials_path, Limiter& limiter,
            Authenticator* authenticator, const Pseudonymizer* pseudonymizer,
            metrics::GatehouseMetrics& m) {
  absl::StatusOr<std::shared_ptr<const PolicySet>> reloaded =
      LoadPolicyFile(policies_path);
  absl::Status usable = reloaded.ok()
                            ? CheckPseudonymization(**reloaded, pseudonymizer)
                            : reloaded.status();
  CountReload(m, metrics::GatehouseMetrics::kKindPolicies, usable.ok());
  if (usable.ok()) {
    limiter.SetPolicies(*reloaded);
    LogJson(spdlog::level::info, "policies reloaded",
            {{"file", policies_path},
             {"policies", static_cast<uint64_t>((*reloaded)->all().size())}});
  } else {
    LogJson(spdlog::level::err, "policy reload rejected; keeping the old ones",
            {{"file", policies_path}, {"error", usable.ToString()}});
  }
  if (authenticator == nullptr) return;
  absl::StatusOr<std::shared_ptr<const Credentials>> credentials =
      Credentials::Load(credentials_path);
  CountReload(m, metrics::GatehouseMetrics::kKindCredentials, credentials.ok());
  if (credentials.ok()) {
    authenticator->SetCredentials(*credentials);
    LogJson(
        spdlog::level::info, "credentials reloaded",
        {{"file", credentials_path},
         {"clients", static_cast<uint64_t>((*credentials)->clients().size())}});
  } else {
    LogJson(spdlog::level::err,
            "credentials reload rejected; keeping the old ones",
            {{"file", credentials_path},
             {"error", credentials.status().ToString()}});
  }
}

int Run() {
  const std::string listen = absl::GetFlag(FLAGS_listen);
  const std::string policies_path = absl::GetFlag(FLAGS_policies);
  const std::string credentials_path = absl::GetFlag(FLAGS_credentials);
  if (policies_path.empty()) {
    return Fail(
        absl::InvalidArgumentError("--policies: a policy file is required"));
  }
  absl::StatusOr<std::shared_ptr<const PolicySet>> policies =
      LoadPolicyFile(policies_path);
  if (!policies.ok()) return Fail(policies.status());

  std::unique_ptr<Pseudonymizer> pseudonymizer;
  if (const std::string key_file = absl::GetFlag(FLAGS_pseudonym_key_file);
      !key_file.empty()) {
    absl::StatusOr<std::string> key =
        ReadSecretFile(key_file, "--pseudonym_key_file");
    if (!key.ok()) return Fail(key.status());
    if (absl::Status strong = CheckSecretStrength(*key, "--pseudonym_key_file");
        !strong.ok()) {
      return Fail(strong);
    }
    pseudonymizer = std::make_unique<Pseudonymizer>(*std::move(key));
  }
  if (absl::Status s = CheckPseudonymization(**policies, pseudonymizer.get());
      !s.ok()) {
    return Fail(s);
  }

  TransportSettings transport;
  transport.listen = listen;
  transport.cert_file = absl::GetFlag(FLAGS_tls_cert_file);
  transport.key_file = absl::GetFlag(FLAGS_tls_key_file);
  transport.client_ca_file = absl::GetFlag(FLAGS_tls_client_ca_file);
  transport.allow_plaintext = absl::GetFlag(FLAGS_allow_plaintext);
  bool plaintext_warning = false;
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> server_credentials =
      MakeServerCredentials(transport, &plaintext_warning);
  if (!server_credentials.ok()) return Fail(server_credentials.status());
  if (plaintext_warning) {
    LogJson(spdlog::level::warn,
            "serving PLAINTEXT on a non-loopback address (--allow_plaintext)",
            {{"listen", listen}});
  }
  std::optional<PeerAllowlist> peer_allowlist;
  if (const auto ids = absl::GetFlag(FLAGS_tls_client_allowlist);
      !ids.empty()) {
    if (transport.client_ca_file.empty()) {
      return Fail(absl::InvalidArgumentError(
          "--tls_client_allowlist: needs mTLS (--tls_client_ca_file)"));
    }
    absl::StatusOr<PeerAllowlist> list = PeerAllowlist::Create(ids);
    if (!list.ok()) return Fail(list.status());
    peer_allowlist = *std::move(list);
  } else if (!transport.client_ca_file.empty()) {
    return Fail(absl::InvalidArgumentError(
        "--tls_client_allowlist: required with --tls_client_ca_file (an "
        "explicit list of admitted client identities)"));
  }

  std::unique_ptr<Authenticator> authenticator;
  if (!credentials_path.empty()) {
    absl::StatusOr<std::shared_ptr<const Credentials>> credentials =
        Credentials::Load(credentials_path);
    if (!credentials.ok()) return Fail(credentials.status());
    authenticator = std::make_unique<Authenticator>(*credentials,
                                                    std::move(peer_allowlist));
  } else if (!absl::GetFlag(FLAGS_allow_unauthenticated)) {
    return Fail(absl::InvalidArgumentError(
        "--credentials: required (or --allow_unauthenticated on loopback)"));
  } else if (!IsLoopbackListen(listen)) {
    return Fail(absl::InvalidArgumentError(
        "--allow_unauthenticated: only accepted on a loopback --listen"));
  } else {
    LogJson(spdlog::level::warn,
            "serving WITHOUT authentication (--allow_unauthenticated)");
  }

  const std::string data_dir = absl::GetFlag(FLAGS_data_dir);
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec) {
    return Fail(absl::UnavailableError(absl::StrCat(
        "--data_dir: cannot create ", data_dir, ": ", ec.message())));
  }
  RocksDbStoreOptions store_options;
  store_options.sync = absl::GetFlag(FLAGS_sync_writes);
  store_options.block_cache_bytes =
      static_cast<size_t>(absl::GetFlag(FLAGS_block_cache_mb)) << 20;
  if (const int mb = absl::GetFlag(FLAGS_write_buffer_mb); mb < 1) {
    return Fail(absl::InvalidArgumentError(
        absl::StrCat("--write_buffer_mb: must be >= 1, got ", mb)));
  } else {
    store_options.write_buffer_bytes = static_cast<size_t>(mb) << 20;
  }
  absl::StatusOr<std::unique_ptr<RocksDbCounterStore>> store =
      RocksDbCounterStore::Open(data_dir, RealClock::Get(), store_options);
  if (!store.ok()) return Fail(store.status());

  metrics::Registry registry;
  metrics::GatehouseMetrics metrics(&registry, GATEHOUSE_VERSION);
  RocksDbCounterStore* const db = store->get();
  metrics.storage_size_bytes.SetCallback([db] {
    return static_cast<double>(db->ApproximateCounterBytes() +
                               db->ApproximateAuditBytes());
  });
  metrics.storage_estimated_keys.SetCallback(
      [db] { return static_cast<double>(db->EstimateNumKeys()); });
  CountReload(metrics, metrics::GatehouseMetrics::kKindPolicies, true);
  if (authenticator != nullptr) {
    CountReload(metrics, metrics::GatehouseMetrics::kKindCredentials, true);
  }
  std::unique_ptr<metrics::MetricsServer> metrics_server;
  if (const std::string metrics_listen = absl::GetFlag(FLAGS_metrics_listen);
      !metrics_listen.empty()) {
    absl::StatusOr<std::unique_ptr<metrics::MetricsServer>> started =
        metrics::MetricsServer::Start(metrics_listen, &registry);
    if (!started.ok()) {
      return Fail(absl::Status(
          started.status().code(),
          absl::StrCat("--metrics_listen: ", started.status().message())));
    }
    metrics_server = *std::move(started);
    if (const std::string file = absl::GetFlag(FLAGS_metrics_port_file);
        !file.empty()) {
      absl::Status written = WritePortFile(file, metrics_server->port());
      if (!written.ok()) return Fail(written);
    }
  }

  Limiter limiter(RealClock::Get(), db, *policies, pseudonymizer.get());
  LogRateLimiter log_limiter(RealClock::Get(), /*max_lines=*/20,
                             absl::Seconds(10));
  CallMetrics call_metrics(&metrics);
  StreamQuota stream_quota(absl::GetFlag(FLAGS_max_streams_per_client));
  const int max_inflight = absl::GetFlag(FLAGS_max_inflight_calls);
  const int max_threads = absl::GetFlag(FLAGS_max_threads);
  if (max_inflight < 0) {
    return Fail(absl::InvalidArgumentError(absl::StrCat(
        "--max_inflight_calls: must be >= 0, got ", max_inflight)));
  }
  if (max_threads < 4) {
    return Fail(absl::InvalidArgumentError(
        absl::StrCat("--max_threads: must be >= 4, got ", max_threads)));
  }
  int decision_threads = absl::GetFlag(FLAGS_decision_threads);
  if (decision_threads < -1) {
    return Fail(absl::InvalidArgumentError(absl::StrCat(
        "--decision_threads: must be >= -1, got ", decision_threads)));
  }
  if (decision_threads == -1) {
    decision_threads = absl::GetFlag(FLAGS_sync_writes) ? 64 : 0;
  }
  InflightLimit inflight(max_inflight);
  // Outlives the server: its Shutdown() waits for the calls the pool runs.
  std::unique_ptr<DecisionPool> decision_pool;
  if (decision_threads > 0) {
    decision_pool = std::make_unique<DecisionPool>(decision_threads);
  }
  const absl::Duration refusal_interval =
      absl::GetFlag(FLAGS_refusal_audit_interval);
  if (refusal_interval < absl::Seconds(1) ||
      refusal_interval > absl::Hours(1)) {
    return Fail(absl::InvalidArgumentError(
        absl::StrCat("--refusal_audit_interval: must be from 1s to 1h, got ",
                     absl::FormatDuration(refusal_interval))));
  }
  RefusalAggregatorOptions refusal_options;
  refusal_options.interval = refusal_interval;
  RefusalAggregator refusals(db, RealClock::Get(), refusal_options);
  RateLimiterService service(&limiter, db, authenticator.get(), &log_limiter,
                             &call_metrics, &stream_quota, &inflight,
                             decision_pool.get(), &refusals);
  AuditService audit_service(db, authenticator.get(), &call_metrics,
                             &stream_quota);

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(listen, *server_credentials, &port);
  builder.RegisterService(&service);
  builder.RegisterService(&audit_service);
  builder.SetMaxReceiveMessageSize(1 << 20);
  grpc::ResourceQuota quota("gatehouse");
  quota.SetMaxThreads(max_threads);
  builder.SetResourceQuota(quota);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    return Fail(absl::UnavailableError(
        absl::StrCat("--listen: cannot listen on ", listen)));
  }
  server->GetHealthCheckService()->SetServingStatus(true);
  if (const std::string port_file = absl::GetFlag(FLAGS_port_file);
      !port_file.empty()) {
    absl::Status written = WritePortFile(port_file, port);
    if (!written.ok()) return Fail(written);
  }
  const std::string host = listen.substr(0, listen.rfind(':'));
  LogJson(spdlog::level::info, "gatehouse listening",
          {{"address", absl::StrCat(host, ":", port)},
           {"metrics_port", metrics_server ? metrics_server->port() : 0},
           {"policies", static_cast<uint64_t>((*policies)->all().size())},
           {"data_dir", data_dir},
           {"decision_threads", static_cast<int64_t>(decision_threads)},
           {"audit_head", (*store)->HeadSequence()}});

  // Audit retention runs in the background until shutdown.
  absl::Notification stopping;
  AuditRetention retention;
  retention.max_age = absl::GetFlag(FLAGS_audit_retention);
  retention.max_bytes = static_cast<uint64_t>(std::max<int64_t>(
                            0, absl::GetFlag(FLAGS_audit_max_mb)))
                        << 20;
  // SIGHUP and the file watcher both reload; one at a time.
  absl::Mutex reload_mu;
  auto reload = [&] {
    absl::MutexLock lock(&reload_mu);
    Reload(policies_path, credentials_path, limiter, authenticator.get(),
           pseudonymizer.get(), metrics);
  };
  std::vector<std::string> watched = {policies_path};
  if (!credentials_path.empty()) watched.push_back(credentials_path);
  ConfigWatcher watcher(watched);

  // Serving while storage takes writes and until shutdown begins.
  absl::Mutex health_mu;
  bool shutting_down = false;  // Guarded by health_mu.
  bool serving = true;         // Housekeeping thread only.
  auto check_storage = [&] {
    if (!db->writable()) {
      absl::Status recovered = db->Recover();
      if (!recovered.ok() && serving) {
        LogJson(spdlog::level::err,
                "storage not writable: calls that write answer UNAVAILABLE, "
                "Peek answers unaudited, health NOT_SERVING",
                {{"error", recovered.ToString()}});
      }
    }
    const bool writable = db->writable();
    metrics.storage_writable.Set(writable ? 1 : 0);
    if (writable && !serving) {
      LogJson(spdlog::level::info, "storage writable again; serving");
    }
    if (writable != serving) {
      absl::MutexLock lock(&health_mu);
      if (!shutting_down) {
        server->GetHealthCheckService()->SetServingStatus(writable);
      }
    }
    serving = writable;
  };

  uint64_t aggregated_reported = 0;  // Housekeeping thread, then main.
  auto flush_refusals = [&](bool all) {
    const uint64_t aggregated = refusals.aggregated_calls();
    metrics.audit_refusals_aggregated_total.Increment(aggregated -
                                                      aggregated_reported);
    aggregated_reported = aggregated;
    absl::StatusOr<uint64_t> flushed = refusals.Flush(all);
    if (!flushed.ok()) {
      metrics.storage_errors_total.WithLabels({"write"}).Increment();
      LogJson(spdlog::level::err, "audit of aggregated refusals failed",
              {{"error", flushed.status().ToString()}});
    }
  };

  // Housekeeping: storage health, aggregated refusals and the audit head
  // gauge every second,
  // config files every --watch_interval, retention every
  // --retention_interval.
  std::thread retention_thread([&] {
    const absl::Duration interval = absl::GetFlag(FLAGS_retention_interval);
    const absl::Duration watch_interval = absl::GetFlag(FLAGS_watch_interval);
    absl::Time next_retention = absl::InfinitePast();
    absl::Time next_watch = RealClock::Get()->Now() + watch_interval;
    do {
      check_storage();
      flush_refusals(/*all=*/false);
      metrics.audit_head_sequence.Set(static_cast<double>(db->HeadSequence()));
      if (watch_interval > absl::ZeroDuration() &&
          RealClock::Get()->Now() >= next_watch) {
        next_watch = RealClock::Get()->Now() + watch_interval;
        if (watcher.Changed()) {
          LogJson(spdlog::level::info, "config file changed; reloading");
          reload();
        }
      }
      if (RealClock::Get()->Now() < next_retention) continue;
      next_retention = RealClock::Get()->Now() + interval;
      absl::StatusOr<uint64_t> dropped = (*store)->ApplyRetention(retention);
      if (!dropped.ok()) {
        LogJson(spdlog::level::err, "audit retention failed",
                {{"error", dropped.status().ToString()}});
      } else if (*dropped > 0) {
        LogJson(
            spdlog::level::info, "audit retention",
            {{"dropped", *dropped}, {"oldest", (*store)->OldestSequence()}});
      }
    } while (!stopping.WaitForNotificationWithTimeout(absl::Seconds(1)));
  });

  // Signals are blocked in every thread (see main) and taken here.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  for (;;) {
    int sig = 0;
    if (sigwait(&signals, &sig) != 0) continue;
    if (sig == SIGHUP) {
      reload();
      continue;
    }
    LogJson(spdlog::level::info, "shutting down", {{"signal", sig}});
    break;
  }
  // Readiness drops at once, but calls are still taken for a quarter of the
  // grace (at most 1s): gRPC fails with CANCELLED, unprocessed, the calls
  // that reach it once Shutdown has begun (grpc/grpc#41785), which would hit
  // calls sent just before the signal. In-flight calls then get the rest of
  // the grace and are cancelled (streams included). gRPC also waits out the
  // grace while idle client connections are open.
  const absl::Duration grace = absl::GetFlag(FLAGS_shutdown_grace);
  const auto give_up =
      std::chrono::system_clock::now() + absl::ToChronoMilliseconds(grace);
  {
    absl::MutexLock lock(&health_mu);
    shutting_down = true;
    server->GetHealthCheckService()->SetServingStatus(false);
  }
  absl::SleepFor(std::min(grace / 4, absl::Seconds(1)));
  server->Shutdown(give_up);
  server->Wait();
  stopping.Notify();
  retention_thread.join();
  flush_refusals(/*all=*/true);
  LogJson(spdlog::level::info, "stopped",
          {{"audit_head", (*store)->HeadSequence()}});
  return 0;
}

}  // namespace
}  // namespace gatehouse

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "gatehouse --policies=FILE --credentials=FILE --pseudonym_key_file=FILE "
      "[--listen=HOST:PORT] [--data_dir=DIR] [--port_file=FILE]");
  absl::ParseCommandLine(argc, argv);
  // Debian builds Abseil without NDEBUG, which leaves absl::Mutex's
  // deadlock detection on: a global lock-order graph updated on every
  // Lock, which cost the server ~30% of its decisions/s (bench/RESULTS.md).
  // Tests keep it; the server turns it off, as an NDEBUG Abseil does.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  gatehouse::SetUpJsonLogging(
      spdlog::level::from_str(absl::GetFlag(FLAGS_log_level)));
  // Block the signals before any thread starts so only sigwait sees them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return gatehouse::Run();
}
