#include "tests/metrics/gatehouse_metrics_values.h"

namespace gatehouse::metrics::testing {

void SetExampleValues(GatehouseMetrics* m) {
  using G = GatehouseMetrics;
  m->decisions_total.WithLabels({"login_ip", G::kRpcCheck, G::kDecisionAllow})
      .Increment(kLoginIpCheckAllows);
  m->decisions_total.WithLabels({"login_ip", G::kRpcCheck, G::kDecisionDeny})
      .Increment(2);
  m->decisions_total
      .WithLabels({"failed_auth_user_ip", G::kRpcPeek, G::kDecisionShadowDeny})
      .Increment();
  m->ceiling_hits_total.WithLabels({"login_ip"}).Increment();
  m->lockouts_total.WithLabels({"login_ip"}).Increment();
  m->permanent_lockouts_total.WithLabels({"login_ip"}).Increment();
  m->exempt_total.WithLabels({"login_ip"}).Increment(6);
  m->denylisted_total.WithLabels({"login_ip"}).Increment(2);
  m->grpc_requests_total.WithLabels({"Check", "OK"}).Increment(9);
  m->grpc_requests_total.WithLabels({"Check", "INVALID_ARGUMENT"}).Increment();
  m->batch_items_total.WithLabels({G::kRpcCheck, "OK"}).Increment(5);
  Histogram& check_latency =
      m->grpc_request_duration_seconds.WithLabels({"Check"});
  check_latency.Observe(0.0003);
  check_latency.Observe(0.002);
  m->storage_errors_total.WithLabels({G::kStorageWrite}).Increment();
  m->audit_head_sequence.Set(1234);
  m->audit_stream_consumers.Set(1);
  m->audit_consumer_lag_events.WithLabels({"siem-exporter"}).Set(17);
  m->config_reloads_total.WithLabels({G::kKindPolicies, G::kResultSuccess})
      .Increment();
  m->config_reloads_total.WithLabels({G::kKindCredentials, G::kResultFailure})
      .Increment();
  m->config_last_reload_success_timestamp_seconds.WithLabels({G::kKindPolicies})
      .Set(1700000000);
  m->auth_failures_total.WithLabels({G::kAuthUnknownToken}).Increment(4);
  m->envoy_unmatched_descriptors_total.WithLabels({"edge"}).Increment(2);
  m->audit_refusals_aggregated_total.Increment(3);
  m->storage_size_bytes.SetCallback([] { return 4096.0; });
  m->storage_estimated_keys.SetCallback([] { return 12.0; });
  m->state_cache_reads_total.WithLabels({"hit"}).SetCallback(
      [] { return 90.0; });
  m->state_cache_reads_total.WithLabels({"miss"}).SetCallback(
      [] { return 10.0; });
  m->state_cache_entries.SetCallback([] { return 7.0; });
  m->state_cache_bytes.SetCallback([] { return 2048.0; });
  m->counter_checkpoints_total.SetCallback([] { return 5.0; });
  m->counter_dirty_keys.SetCallback([] { return 40.0; });
  m->commit_groups_total.SetCallback([] { return 30.0; });
  m->grouped_commits_total.SetCallback([] { return 120.0; });
  m->dependent_failures_total.SetCallback([] { return 0.0; });
  m->inflight_requests.Set(3);
}

}  // namespace gatehouse::metrics::testing
