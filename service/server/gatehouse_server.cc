#include "service/server/gatehouse_server.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "service/auth/peer_allowlist.h"
#include "service/auth/secret_strength.h"
#include "service/clock/real_clock.h"
#include "service/core/status_macros.h"
#include "service/grpc/reflection_mode.h"
#include "service/grpc/server_credentials.h"
#include "service/logging/json_log.h"
#include "service/storage/rocksdb_store.h"

namespace gatehouse {
namespace {

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

}  // namespace

absl::StatusOr<std::unique_ptr<GatehouseServer>> GatehouseServer::Start(
    GatehouseServerOptions options) {
  std::unique_ptr<GatehouseServer> server(
      new GatehouseServer(std::move(options)));
  if (absl::Status s = server->Init(); !s.ok()) return s;
  return server;
}

GatehouseServer::GatehouseServer(GatehouseServerOptions options)
    : options_(std::move(options)) {}

GatehouseServer::~GatehouseServer() { Shutdown(); }

int GatehouseServer::metrics_port() const {
  return metrics_server_ != nullptr ? metrics_server_->port() : 0;
}

absl::Status GatehouseServer::Init() {
  const GatehouseServerOptions& o = options_;
  if (o.policies.empty()) {
    return absl::InvalidArgumentError("--policies: a policy file is required");
  }
  if (!o.pseudonym_key_file.empty()) {
    absl::StatusOr<std::string> key =
        ReadSecretFile(o.pseudonym_key_file, "--pseudonym_key_file");
    if (!key.ok()) return key.status();
    if (absl::Status strong = CheckSecretStrength(*key, "--pseudonym_key_file");
        !strong.ok()) {
      return strong;
    }
    pseudonymizer_ = std::make_unique<Pseudonymizer>(*std::move(key));
  }
  config_ = std::make_unique<ConfigReloader>(o.policies, o.credentials,
                                             pseudonymizer_.get());
  absl::StatusOr<ConfigReloader::Loaded> loaded = config_->LoadInitial();
  if (!loaded.ok()) return loaded.status();

  absl::StatusOr<bool> reflection = ReflectionEnabled(o.reflection, o.listen);
  if (!reflection.ok()) return reflection.status();

  std::optional<PeerAllowlist> peer_allowlist;
  if (!o.tls_client_allowlist.empty()) {
    if (o.tls_client_ca_file.empty()) {
      return absl::InvalidArgumentError(
          "--tls_client_allowlist: needs mTLS (--tls_client_ca_file)");
    }
    absl::StatusOr<PeerAllowlist> list =
        PeerAllowlist::Create(o.tls_client_allowlist);
    if (!list.ok()) return list.status();
    peer_allowlist = *std::move(list);
  } else if (!o.tls_client_ca_file.empty()) {
    return absl::InvalidArgumentError(
        "--tls_client_allowlist: required with --tls_client_ca_file (an "
        "explicit list of admitted client identities)");
  }

  if (loaded->credentials != nullptr) {
    LogConfigWarnings(*loaded->credentials, *loaded->policies, o.credentials);
    authenticator_ = std::make_unique<Authenticator>(loaded->credentials,
                                                     std::move(peer_allowlist));
  } else if (!o.allow_unauthenticated) {
    return absl::InvalidArgumentError(
        "--credentials: required (or --allow_unauthenticated on loopback)");
  } else if (!IsLoopbackListen(o.listen)) {
    return absl::InvalidArgumentError(
        "--allow_unauthenticated: only accepted on a loopback --listen");
  } else {
    LogJson(spdlog::level::warn,
            "serving WITHOUT authentication (--allow_unauthenticated)");
  }

  if (o.max_inflight_calls < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--max_inflight_calls: must be >= 0, got ", o.max_inflight_calls));
  }
  if (o.max_threads < 4) {
    return absl::InvalidArgumentError(
        absl::StrCat("--max_threads: must be >= 4, got ", o.max_threads));
  }
  GH_RETURN_IF_ERROR(CheckTransportBounds());
  if (o.refusal_audit_interval < absl::Seconds(1) ||
      o.refusal_audit_interval > absl::Hours(1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--refusal_audit_interval: must be from 1s to 1h, got ",
                     absl::FormatDuration(o.refusal_audit_interval)));
  }
  if (o.decision_threads < -1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--decision_threads: must be >= -1, got ", o.decision_threads));
  }
  if (o.write_buffer_mb < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--write_buffer_mb: must be >= 1, got ", o.write_buffer_mb));
  }
  if (o.counter_cache_mb < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--counter_cache_mb: must be >= 0, got ", o.counter_cache_mb));
  }
  if (o.checkpoint_interval < absl::Milliseconds(10) ||
      o.checkpoint_interval > absl::Minutes(10)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--checkpoint_interval: must be from 10ms to 10m, got ",
                     absl::FormatDuration(o.checkpoint_interval)));
  }
  if (o.checkpoint_max_dirty_keys < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("--checkpoint_max_dirty_keys: must be >= 1, got ",
                     o.checkpoint_max_dirty_keys));
  }

  GH_RETURN_IF_ERROR(OpenStore());
  GH_RETURN_IF_ERROR(StartMetrics());
  limiter_ = std::make_unique<Limiter>(RealClock::Get(), counters_,
                                       loaded->policies, pseudonymizer_.get());
  log_limiter_ = std::make_unique<LogRateLimiter>(
      RealClock::Get(), /*max_lines=*/20, absl::Seconds(10));
  call_metrics_ = std::make_unique<CallMetrics>(metrics_.get());
  stream_quota_ = std::make_unique<StreamQuota>(o.max_streams_per_client);
  inflight_ = std::make_unique<InflightLimit>(o.max_inflight_calls);
  // -1, the default of earlier versions, is the default.
  const int decision_threads = std::max(0, o.decision_threads);
  if (decision_threads > 0) {
    decision_pool_ = std::make_unique<DecisionPool>(decision_threads);
  }
  RefusalAggregatorOptions refusal_options;
  refusal_options.interval = o.refusal_audit_interval;
  refusals_ = std::make_unique<RefusalAggregator>(counters_, RealClock::Get(),
                                                  refusal_options);
  CallPipelineOptions pipeline;
  pipeline.limiter = limiter_.get();
  pipeline.authenticator = authenticator_.get();
  pipeline.log_limiter = log_limiter_.get();
  pipeline.metrics = call_metrics_.get();
  pipeline.inflight = inflight_.get();
  pipeline.pool = decision_pool_.get();
  pipeline.refusals = refusals_.get();
  pipeline_ = std::make_unique<CallPipeline>(pipeline);
  AuditStreamOptions streams;
  streams.log = &store_->audit_log();
  streams.authenticator = authenticator_.get();
  streams.metrics = call_metrics_.get();
  streams.quota = stream_quota_.get();
  streams.log_limiter = log_limiter_.get();
  rate_limiter_service_ =
      std::make_unique<RateLimiterService>(pipeline_.get(), streams);
  audit_service_ = std::make_unique<AuditService>(streams);
  envoy_service_ = std::make_unique<EnvoyRateLimitService>(pipeline_.get());
  admin_service_ = std::make_unique<AdminService>(pipeline_.get());
  GH_RETURN_IF_ERROR(StartGrpc(*reflection));

  const std::string host = o.listen.substr(0, o.listen.rfind(':'));
  LogJson(spdlog::level::info, "gatehouse listening",
          {{"address", absl::StrCat(host, ":", port_)},
           {"metrics_port", metrics_port()},
           {"policies", static_cast<uint64_t>(loaded->policies->all().size())},
           {"data_dir", o.data_dir},
           {"decision_threads", static_cast<int64_t>(decision_threads)},
           {"audit_head", store_->audit_log().HeadSequence()}});

  HousekeepingOptions housekeeping;
  housekeeping.retention.max_age = o.audit_retention;
  housekeeping.retention.max_bytes =
      static_cast<uint64_t>(std::max<int64_t>(0, o.audit_max_mb)) << 20;
  housekeeping.retention_interval = o.retention_interval;
  housekeeping.watch_interval = o.watch_interval;
  housekeeping_ = std::make_unique<Housekeeping>(
      RealClock::Get(), &store_->maintenance(), &store_->audit_log(),
      housekeeping,
      Housekeeping::Hooks{[this] { Reload(); },
                          [this](bool writable) {
                            StorageState(writable);
                            FlushRefusals(/*all=*/false);
                          }});
  housekeeping_->Start();
  return absl::OkStatus();
}

absl::Status GatehouseServer::OpenStore() {
  std::error_code ec;
  std::filesystem::create_directories(options_.data_dir, ec);
  if (ec) {
    return absl::UnavailableError(absl::StrCat(
        "--data_dir: cannot create ", options_.data_dir, ": ", ec.message()));
  }
  RocksDbStoreOptions store_options;
  store_options.sync = options_.sync_writes;
  store_options.block_cache_bytes = static_cast<size_t>(options_.block_cache_mb)
                                    << 20;
  store_options.write_buffer_bytes =
      static_cast<size_t>(options_.write_buffer_mb) << 20;
  store_options.checkpoint_interval = options_.checkpoint_interval;
  store_options.checkpoint_max_dirty_keys =
      static_cast<size_t>(options_.checkpoint_max_dirty_keys);
  absl::StatusOr<std::unique_ptr<RocksDbStore>> store =
      OpenRocksDbStore(options_.data_dir, RealClock::Get(), store_options);
  if (!store.ok()) return store.status();
  checkpointer_ = &(*store)->checkpointer();
  dirty_counters_ = &(*store)->dirty();
  commit_writer_ = &(*store)->writer();
  store_ = *std::move(store);
  counters_ = &store_->counters();
  if (options_.counter_cache_mb > 0) {
    CounterCacheOptions cache;
    cache.capacity_bytes = static_cast<size_t>(options_.counter_cache_mb) << 20;
    counter_cache_ = std::make_unique<CachedCounterStore>(counters_, cache);
    counters_ = counter_cache_.get();
  }
  return absl::OkStatus();
}

absl::Status GatehouseServer::StartMetrics() {
  metrics_ =
      std::make_unique<metrics::GatehouseMetrics>(&registry_, options_.version);
  const StoreMaintenance* maintenance = &store_->maintenance();
  metrics_->storage_size_bytes.SetCallback([maintenance] {
    return static_cast<double>(maintenance->ApproximateBytes());
  });
  const CounterCheckpointer* checkpointer = checkpointer_;
  metrics_->counter_checkpoints_total.SetCallback([checkpointer] {
    return static_cast<double>(checkpointer->checkpoints());
  });
  const DirtyCounters* dirty = dirty_counters_;
  metrics_->counter_dirty_keys.SetCallback(
      [dirty] { return static_cast<double>(dirty->size()); });
  const GroupCommitWriter* writer = commit_writer_;
  metrics_->commit_groups_total.SetCallback(
      [writer] { return static_cast<double>(writer->groups_written()); });
  metrics_->grouped_commits_total.SetCallback(
      [writer] { return static_cast<double>(writer->grouped_commits()); });
  const CachedCounterStore* refusing = counter_cache_.get();
  metrics_->dependent_failures_total.SetCallback([writer, refusing] {
    return static_cast<double>(
        writer->dependent_failures() +
        (refusing != nullptr ? refusing->dependent_failures() : 0));
  });
  if (const CachedCounterStore* cache = counter_cache_.get()) {
    metrics_->state_cache_reads_total.WithLabels({"hit"}).SetCallback(
        [cache] { return static_cast<double>(cache->hits()); });
    metrics_->state_cache_reads_total.WithLabels({"miss"}).SetCallback(
        [cache] { return static_cast<double>(cache->misses()); });
    metrics_->state_cache_entries.SetCallback(
        [cache] { return static_cast<double>(cache->entries()); });
    metrics_->state_cache_bytes.SetCallback(
        [cache] { return static_cast<double>(cache->charged_bytes()); });
  }
  metrics_->storage_estimated_keys.SetCallback([maintenance] {
    return static_cast<double>(maintenance->EstimateNumKeys());
  });
  CountReload(*metrics_, metrics::GatehouseMetrics::kKindPolicies, true);
  if (authenticator_ != nullptr) {
    CountReload(*metrics_, metrics::GatehouseMetrics::kKindCredentials, true);
  }
  if (options_.metrics_listen.empty()) return absl::OkStatus();
  absl::StatusOr<std::unique_ptr<metrics::MetricsServer>> started =
      metrics::MetricsServer::Start(options_.metrics_listen, &registry_);
  if (!started.ok()) {
    return absl::Status(
        started.status().code(),
        absl::StrCat("--metrics_listen: ", started.status().message()));
  }
  metrics_server_ = *std::move(started);
  if (!options_.metrics_port_file.empty()) {
    return WritePortFile(options_.metrics_port_file, metrics_server_->port());
  }
  return absl::OkStatus();
}

absl::Status GatehouseServer::CheckTransportBounds() {
  const GatehouseServerOptions& o = options_;
  if (o.max_concurrent_streams < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("--max_concurrent_streams: must be >= 1, got ",
                     o.max_concurrent_streams));
  }
  if (o.max_connections < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--max_connections: must be >= 0, got ", o.max_connections));
  }
  if (o.max_memory_mb < 16) {
    return absl::InvalidArgumentError(
        absl::StrCat("--max_memory_mb: must be >= 16, got ", o.max_memory_mb));
  }
  for (const auto& [flag, value] : ConnectionTimeouts()) {
    if (value < absl::ZeroDuration() || value > absl::Hours(24 * 24)) {
      return absl::InvalidArgumentError(
          absl::StrCat(flag, ": must be between 0 and 24 days, got ",
                       absl::FormatDuration(value)));
    }
  }
  return absl::OkStatus();
}

std::vector<std::pair<const char*, absl::Duration>>
GatehouseServer::ConnectionTimeouts() const {
  return {{"--handshake_timeout", options_.handshake_timeout},
          {"--max_connection_idle", options_.max_connection_idle},
          {"--max_connection_age", options_.max_connection_age},
          {"--max_connection_age_grace", options_.max_connection_age_grace}};
}

absl::Status GatehouseServer::StartGrpc(bool reflection) {
  TransportSettings transport;
  transport.listen = options_.listen;
  transport.cert_file = options_.tls_cert_file;
  transport.key_file = options_.tls_key_file;
  transport.client_ca_file = options_.tls_client_ca_file;
  transport.allow_plaintext = options_.allow_plaintext;
  bool plaintext_warning = false;
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
      MakeServerCredentials(transport, &plaintext_warning);
  if (!credentials.ok()) return credentials.status();
  if (plaintext_warning) {
    LogJson(spdlog::level::warn,
            "serving PLAINTEXT on a non-loopback address (--allow_plaintext)",
            {{"listen", options_.listen}});
  }

  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  ConfigureReflection(reflection, builder);
  // With authentication, a call without a known token is refused on its
  // HEADERS, before gRPC buffers its body (service/grpc/token_gate.h).
  std::shared_ptr<grpc::ServerCredentials> listen_credentials = *credentials;
  if (authenticator_ != nullptr) {
    token_gate_ =
        std::make_unique<TokenGate>(authenticator_.get(), call_metrics_.get());
    listen_credentials = token_gate_->Guard(std::move(listen_credentials),
                                            !options_.tls_cert_file.empty());
  }
  builder.AddListeningPort(options_.listen, listen_credentials, &port_);
  builder.RegisterService(rate_limiter_service_.get());
  builder.RegisterService(audit_service_.get());
  builder.RegisterService(envoy_service_.get());
  builder.RegisterService(admin_service_.get());
  // Required by the services' raw streaming methods (request_parser.h);
  // answers unknown methods UNIMPLEMENTED, as gRPC does without it.
  builder.RegisterCallbackGenericService(&unknown_methods_);
  builder.SetMaxReceiveMessageSize(1 << 20);
  grpc::ResourceQuota quota("gatehouse");
  quota.SetMaxThreads(options_.max_threads);
  quota.Resize(static_cast<size_t>(options_.max_memory_mb) << 20);
  builder.SetResourceQuota(quota);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS,
                             options_.max_concurrent_streams);
  // gRPC's connection limits, in milliseconds; a zero flag leaves one off.
  const char* const kTimeoutArgs[] = {
      GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS, GRPC_ARG_MAX_CONNECTION_IDLE_MS,
      GRPC_ARG_MAX_CONNECTION_AGE_MS, GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS};
  const auto timeouts = ConnectionTimeouts();
  for (size_t i = 0; i < timeouts.size(); ++i) {
    if (timeouts[i].second > absl::ZeroDuration()) {
      builder.AddChannelArgument(
          kTimeoutArgs[i],
          static_cast<int>(absl::ToInt64Milliseconds(timeouts[i].second)));
    }
  }
  connection_limit_ =
      std::make_unique<ConnectionLimit>(options_.max_connections);
  builder.SetOption(connection_limit_->BuilderOption());
  server_ = builder.BuildAndStart();
  if (server_ == nullptr || port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat("--listen: cannot listen on ", options_.listen));
  }
  server_->GetHealthCheckService()->SetServingStatus(true);
  if (!options_.port_file.empty()) {
    return WritePortFile(options_.port_file, port_);
  }
  return absl::OkStatus();
}

bool GatehouseServer::Reload() {
  absl::MutexLock lock(&reload_mu_);
  const ConfigReloader::Loaded loaded = config_->Reload(*metrics_);
  if (loaded.policies != nullptr) limiter_->SetPolicies(loaded.policies);
  if (authenticator_ != nullptr) {
    if (loaded.credentials != nullptr) {
      authenticator_->SetCredentials(loaded.credentials);
    }
    if (loaded.changed) {
      LogConfigWarnings(*authenticator_->credentials(), *limiter_->policies(),
                        config_->credentials_path());
    }
  }
  return loaded.changed;
}

void GatehouseServer::StorageState(bool writable) {
  metrics_->storage_writable.Set(writable ? 1 : 0);
  metrics_->audit_head_sequence.Set(
      static_cast<double>(store_->audit_log().HeadSequence()));
  if (writable == serving_) return;
  absl::MutexLock lock(&health_mu_);
  if (!shutting_down_)
    server_->GetHealthCheckService()->SetServingStatus(writable);
  serving_ = writable;
}

void GatehouseServer::FlushRefusals(bool all) {
  const uint64_t aggregated = refusals_->aggregated_calls();
  metrics_->audit_refusals_aggregated_total.Increment(aggregated -
                                                      refusals_reported_);
  refusals_reported_ = aggregated;
  absl::StatusOr<uint64_t> flushed = refusals_->Flush(all);
  if (!flushed.ok()) {
    call_metrics_->RecordStorageError(flushed.status());
    LogJson(spdlog::level::err, "audit of aggregated refusals failed",
            {{"error", flushed.status().ToString()}});
  }
}

void GatehouseServer::Shutdown() {
  {
    absl::MutexLock lock(&health_mu_);
    if (shutting_down_ || server_ == nullptr) {
      shutting_down_ = true;
      if (housekeeping_ != nullptr) housekeeping_->Stop();
      return;
    }
    shutting_down_ = true;
    server_->GetHealthCheckService()->SetServingStatus(false);
  }
  const absl::Duration grace = options_.shutdown_grace;
  const auto give_up =
      std::chrono::system_clock::now() + absl::ToChronoMilliseconds(grace);
  absl::SleepFor(std::min(grace / 4, absl::Seconds(1)));
  // Open BatchStream calls would otherwise hold the shutdown for all of its
  // grace: each ends once the message it is deciding is answered.
  rate_limiter_service_->CloseBatchStreams();
  server_->Shutdown(give_up);
  server_->Wait();
  housekeeping_->Stop();
  FlushRefusals(/*all=*/true);
  LogJson(spdlog::level::info, "stopped",
          {{"audit_head", store_->audit_log().HeadSequence()}});
}

}  // namespace gatehouse
