#ifndef GATEHOUSE_SERVICE_SERVER_GATEHOUSE_SERVER_H_
#define GATEHOUSE_SERVICE_SERVER_GATEHOUSE_SERVER_H_

#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/server.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "service/audit/refusal_aggregator.h"
#include "service/auth/authenticator.h"
#include "service/core/cached_counter_store.h"
#include "service/core/limiter.h"
#include "service/core/pseudonymizer.h"
#include "service/core/store.h"
#include "service/grpc/admin_service.h"
#include "service/grpc/audit_service.h"
#include "service/grpc/call_metrics.h"
#include "service/grpc/connection_limit.h"
#include "service/grpc/decision_pool.h"
#include "service/grpc/envoy_rls_service.h"
#include "service/grpc/inflight_limit.h"
#include "service/grpc/rate_limiter_service.h"
#include "service/grpc/stream_quota.h"
#include "service/grpc/token_gate.h"
#include "service/logging/log_rate_limiter.h"
#include "service/metrics/gatehouse_metrics.h"
#include "service/metrics/metrics_server.h"
#include "service/metrics/registry.h"
#include "service/server/config_reloader.h"
#include "service/server/housekeeping.h"
#include "service/storage/counter_checkpointer.h"
#include "service/storage/dirty_counters.h"
#include "service/storage/group_commit_writer.h"

namespace gatehouse {

// Everything the server is started with; each field is the server flag of
// the same name (README, "Server flags"), and errors name the flag.
struct GatehouseServerOptions {
  std::string listen = "127.0.0.1:50051";
  std::string port_file;
  std::string metrics_listen = "127.0.0.1:9464";  // empty: no endpoint
  std::string metrics_port_file;
  std::string data_dir = "./data";
  std::string policies;
  std::string credentials;
  bool allow_unauthenticated = false;
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string tls_client_ca_file;
  std::vector<std::string> tls_client_allowlist;
  bool allow_plaintext = false;
  std::string reflection = "auto";
  std::string pseudonym_key_file;
  int max_streams_per_client = 8;
  int max_inflight_calls = 512;
  int max_threads = 1024;
  int max_concurrent_streams = 100;
  int max_connections = 128;
  int max_memory_mb = 256;
  absl::Duration handshake_timeout = absl::Seconds(10);
  absl::Duration max_connection_idle = absl::Minutes(5);
  absl::Duration max_connection_age = absl::ZeroDuration();
  absl::Duration max_connection_age_grace = absl::Minutes(1);
  // 0: inline on gRPC's threads (-1, the default of earlier versions, too).
  int decision_threads = 0;
  bool sync_writes = false;
  int block_cache_mb = 64;
  // Bounds the counter cache (CachedCounterStore); 0 turns it off.
  int counter_cache_mb = 64;
  // Counter checkpoints (RocksDbStoreOptions::checkpoint_*).
  absl::Duration checkpoint_interval = absl::Seconds(5);
  int checkpoint_max_dirty_keys = 131072;
  int write_buffer_mb = 32;
  absl::Duration audit_retention = absl::Hours(24 * 30);
  int64_t audit_max_mb = 1024;
  absl::Duration retention_interval = absl::Minutes(1);
  absl::Duration refusal_audit_interval = absl::Seconds(10);
  absl::Duration watch_interval = absl::Seconds(2);
  absl::Duration shutdown_grace = absl::Seconds(2);
  // Reported in gatehouse_build_info.
  std::string version;
};

// The Gatehouse server: owns the store, the limiter, the gRPC services and
// server, the metrics endpoint and the housekeeping, and their lifetimes
// (LevelDB's DB::Open -> DBImpl). Start() brings everything up and returns
// once calls are accepted (the port files written); Reload() is SIGHUP;
// Shutdown() stops taking calls and lets in-flight ones finish within the
// grace. Thread-safe.
class GatehouseServer {
 public:
  // Validates `options`, opens the store and serves. INVALID_ARGUMENT or
  // NOT_FOUND naming the flag (or file, policy and field) for bad
  // configuration; UNAVAILABLE when the store cannot be opened or an
  // address not listened on.
  static absl::StatusOr<std::unique_ptr<GatehouseServer>> Start(
      GatehouseServerOptions options);

  ~GatehouseServer();  // Shutdown() if not done.
  GatehouseServer(const GatehouseServer&) = delete;
  GatehouseServer& operator=(const GatehouseServer&) = delete;

  // The bound gRPC and metrics ports (0: no metrics endpoint).
  int port() const { return port_; }
  int metrics_port() const;

  // Rereads the policy and credentials files and applies what changed (a
  // broken file is rejected, logged and counted; the one in force stays).
  // Returns whether any file had changed. One at a time.
  bool Reload();

  // Readiness drops at once; calls are still taken for a quarter of the
  // grace (at most 1 s), since gRPC cancels unprocessed the calls that
  // reach it once Shutdown has begun (grpc/grpc#41785); in-flight calls
  // then get the rest of the grace and are cancelled. Idempotent.
  void Shutdown();

 private:
  explicit GatehouseServer(GatehouseServerOptions options);
  absl::Status Init();
  absl::Status OpenStore();
  absl::Status StartMetrics();
  // Validates the transport's bounds (flags) into gRPC channel arguments.
  absl::Status CheckTransportBounds();
  // The connection timeouts by flag name, in the order StartGrpc passes
  // them to gRPC.
  std::vector<std::pair<const char*, absl::Duration>> ConnectionTimeouts()
      const;
  absl::Status StartGrpc(bool reflection);
  // Housekeeping's storage check: health and gauges follow writability.
  void StorageState(bool writable);
  // Writes the aggregated refusal events that are due (all with `all`).
  void FlushRefusals(bool all);

  const GatehouseServerOptions options_;

  // Declared in the order of construction; destroyed in reverse.
  std::unique_ptr<Pseudonymizer> pseudonymizer_;
  std::unique_ptr<ConfigReloader> config_;
  std::unique_ptr<Authenticator> authenticator_;
  std::unique_ptr<Store> store_;
  // store_'s lazy counter checkpoints, for the metrics.
  const CounterCheckpointer* checkpointer_ = nullptr;
  const DirtyCounters* dirty_counters_ = nullptr;
  const GroupCommitWriter* commit_writer_ = nullptr;
  // In front of store_'s counters unless --counter_cache_mb=0.
  std::unique_ptr<CachedCounterStore> counter_cache_;
  // What the limiter and refusals commit through: the cache, or the store.
  CounterStore* counters_ = nullptr;
  metrics::Registry registry_;
  std::unique_ptr<metrics::GatehouseMetrics> metrics_;
  std::unique_ptr<metrics::MetricsServer> metrics_server_;
  std::unique_ptr<Limiter> limiter_;
  std::unique_ptr<LogRateLimiter> log_limiter_;
  std::unique_ptr<CallMetrics> call_metrics_;
  std::unique_ptr<StreamQuota> stream_quota_;
  std::unique_ptr<InflightLimit> inflight_;
  // Outlives the gRPC server: its Shutdown() waits for the calls the pool
  // runs.
  std::unique_ptr<DecisionPool> decision_pool_;
  std::unique_ptr<RefusalAggregator> refusals_;
  // Aggregated refusals already added to the metric; housekeeping's thread,
  // then Shutdown().
  uint64_t refusals_reported_ = 0;
  std::unique_ptr<CallPipeline> pipeline_;
  std::unique_ptr<RateLimiterService> rate_limiter_service_;
  std::unique_ptr<AuditService> audit_service_;
  std::unique_ptr<EnvoyRateLimitService> envoy_service_;
  std::unique_ptr<AdminService> admin_service_;
  // Outlive the gRPC server, which calls them.
  grpc::CallbackGenericService unknown_methods_;
  std::unique_ptr<TokenGate> token_gate_;
  std::unique_ptr<ConnectionLimit> connection_limit_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::unique_ptr<Housekeeping> housekeeping_;

  absl::Mutex reload_mu_;
  absl::Mutex health_mu_;
  bool shutting_down_ ABSL_GUARDED_BY(health_mu_) = false;
  // Whether health says SERVING; housekeeping's thread only.
  bool serving_ = true;
};

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_SERVER_GATEHOUSE_SERVER_H_
