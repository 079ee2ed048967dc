#include "service/metrics/gatehouse_metrics.h"

#include "service/metrics/process_metrics.h"

namespace gatehouse::metrics {

const std::vector<double>& GatehouseMetrics::LatencyBuckets() {
  static const std::vector<double>* const buckets = new std::vector<double>{
      0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
      0.025,   0.05,   0.1,     0.25,   0.5,   1,      2.5,   5};
  return *buckets;
}

GatehouseMetrics::GatehouseMetrics(Registry* registry, std::string_view version)
    : decisions_total(registry->AddCounter(
          "gatehouse_decisions_total",
          "Decisions per subject by policy, RPC (check, peek, record) and "
          "decision (allow, deny, shadow_deny).",
          {"policy", "rpc", "decision"})),
      ceiling_hits_total(registry->AddCounter(
          "gatehouse_ceiling_hits_total",
          "Calls that made a subject's count reach its policy's limit.",
          {"policy"})),
      lockouts_total(registry->AddCounter("gatehouse_lockouts_total",
                                          "Lockouts started, by policy.",
                                          {"policy"})),
      permanent_lockouts_total(registry->AddCounter(
          "gatehouse_permanent_lockouts_total",
          "Ceiling hits that locked a subject until an operator lifts the "
          "lockout, by policy.",
          {"policy"})),
      exempt_total(registry->AddCounter(
          "gatehouse_exempt_total",
          "Check, Peek and Record verdicts allowed without counting because "
          "the subject's ip is in an exempt network, by policy.",
          {"policy"})),
      denylisted_total(registry->AddCounter(
          "gatehouse_denylisted_total",
          "Check, Peek and Record verdicts denied because the subject's ip is "
          "in a deny network (shadow policies included), by policy.",
          {"policy"})),
      grpc_requests_total(registry->AddCounter(
          "gatehouse_grpc_requests_total",
          "gRPC requests finished, by method and status code.",
          {"method", "code"})),
      grpc_request_duration_seconds(
          registry->AddHistogram("gatehouse_grpc_request_duration_seconds",
                                 "gRPC request latency in seconds, by method.",
                                 {"method"}, LatencyBuckets())),
      batch_items_total(registry->AddCounter(
          "gatehouse_batch_items_total",
          "Items of Batch calls finished, by the item's RPC (check, peek, "
          "record, reset) and status code.",
          {"rpc", "code"})),
      storage_errors_total(registry->AddCounter(
          "gatehouse_storage_errors_total",
          "Storage operations that failed, by operation (read, write).",
          {"operation"})),
      audit_head_sequence(
          registry
              ->AddGauge("gatehouse_audit_head_sequence",
                         "Sequence number of the newest audit event.")
              .WithLabels({})),
      audit_stream_consumers(
          registry
              ->AddGauge("gatehouse_audit_stream_consumers",
                         "Audit event streams currently open.")
              .WithLabels({})),
      audit_consumer_lag_events(registry->AddGauge(
          "gatehouse_audit_consumer_lag_events",
          "Audit events not yet delivered to a stream consumer, by client.",
          {"client"})),
      config_reloads_total(registry->AddCounter(
          "gatehouse_config_reloads_total",
          "Reloads of configuration by kind (policies, credentials) and "
          "result (success, failure).",
          {"kind", "result"})),
      config_last_reload_success_timestamp_seconds(registry->AddGauge(
          "gatehouse_config_last_reload_success_timestamp_seconds",
          "When configuration of this kind was last loaded successfully, in "
          "seconds since the epoch.",
          {"kind"})),
      auth_failures_total(registry->AddCounter(
          "gatehouse_auth_failures_total",
          "Calls refused by authentication or authorization, by reason.",
          {"reason"})),
      envoy_unmatched_descriptors_total(registry->AddCounter(
          "gatehouse_envoy_unmatched_descriptors_total",
          "Descriptors of Envoy's ShouldRateLimit that no policy maps "
          "(answered OK, no limit), by domain.",
          {"domain"})),
      audit_refusals_aggregated_total(
          registry
              ->AddCounter("gatehouse_audit_refusals_aggregated_total",
                           "Refused calls audited inside an aggregated audit "
                           "event rather than as an event of their own.")
              .WithLabels({})),
      storage_size_bytes(registry
                             ->AddCallbackGauge("gatehouse_storage_size_bytes",
                                                "Size of the RocksDB state on "
                                                "disk in bytes.")
                             .WithLabels({})),
      storage_estimated_keys(
          registry
              ->AddCallbackGauge("gatehouse_storage_estimated_keys",
                                 "RocksDB's estimate of the number of keys.")
              .WithLabels({})),
      state_cache_reads_total(registry->AddCallbackCounter(
          "gatehouse_state_cache_reads_total",
          "Counter state reads answered from the counter cache (hit) or "
          "read through to RocksDB (miss).",
          {"result"})),
      state_cache_entries(
          registry
              ->AddCallbackGauge("gatehouse_state_cache_entries",
                                 "Counter states held by the counter cache.")
              .WithLabels({})),
      state_cache_bytes(
          registry
              ->AddCallbackGauge("gatehouse_state_cache_bytes",
                                 "Bytes the counter cache's entries are "
                                 "charged, at most --counter_cache_mb.")
              .WithLabels({})),
      counter_checkpoints_total(
          registry
              ->AddCallbackCounter("gatehouse_state_checkpoints_total",
                                   "Checkpoints that wrote the changed "
                                   "counter states into RocksDB's counters.",
                                   {})
              .WithLabels({})),
      counter_dirty_keys(
          registry
              ->AddCallbackGauge(
                  "gatehouse_state_dirty_keys",
                  "Keys whose counter state changed since the last "
                  "checkpoint began (durable in the redo log, held in "
                  "memory), at most --checkpoint_max_dirty_keys at a "
                  "checkpoint's start.")
              .WithLabels({})),
      commit_groups_total(
          registry
              ->AddCallbackCounter(
                  "gatehouse_storage_commit_groups_total",
                  "Group commits written: one RocksDB write (one fsync with "
                  "--sync_writes) for the decisions gathered meanwhile.",
                  {})
              .WithLabels({})),
      grouped_commits_total(
          registry
              ->AddCallbackCounter(
                  "gatehouse_storage_grouped_commits_total",
                  "Commits written in those groups; divided by "
                  "gatehouse_storage_commit_groups_total, the mean group "
                  "size.",
                  {})
              .WithLabels({})),
      dependent_failures_total(
          registry
              ->AddCallbackCounter(
                  "gatehouse_storage_dependent_failures_total",
                  "Commits failed unwritten (UNAVAILABLE) because a commit "
                  "whose queued counter states they were decided on failed: "
                  "non-zero only after a failed write.",
                  {})
              .WithLabels({})),
      inflight_requests(registry
                            ->AddGauge("gatehouse_inflight_requests",
                                       "gRPC requests being served.")
                            .WithLabels({})),
      storage_writable(
          registry
              ->AddGauge("gatehouse_storage_writable",
                         "1 while storage accepts writes; 0 after a write "
                         "failed (e.g. disk full) until it recovers.")
              .WithLabels({})) {
  storage_writable.Set(1);
  registry
      ->AddGauge("gatehouse_build_info",
                 "Always 1; the version label says which build is running.",
                 {"version"})
      .WithLabels({std::string(version)})
      .Set(1);
  RegisterProcessMetrics(registry);
}

std::vector<std::string> GatehouseMetrics::Names() {
  Registry registry;
  GatehouseMetrics metrics(&registry, "");
  return registry.SampleNames();
}

}  // namespace gatehouse::metrics
