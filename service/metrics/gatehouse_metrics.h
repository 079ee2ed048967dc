#ifndef GATEHOUSE_SERVICE_METRICS_GATEHOUSE_METRICS_H_
#define GATEHOUSE_SERVICE_METRICS_GATEHOUSE_METRICS_H_

#include <string>
#include <string_view>
#include <vector>

#include "service/metrics/registry.h"

namespace gatehouse::metrics {

// Every metric family Gatehouse exports. The names, label names and label
// values below are a contract with charts/gatehouse (alert rules, Grafana
// dashboard): tests/chart checks every PromQL expression there against
// Names(). Labels are bounded by policies, methods and configured clients,
// never by a key, IP or user.
//
// Thread-safe (see Family). Registers into a Registry that must outlive it;
// the references are to families or series owned by that Registry. Cache
// WithLabels results on the hot path, e.g. per policy when policies load.
struct GatehouseMetrics {
  // Label values, so a typo cannot create a new series.
  static constexpr const char* kRpcCheck = "check";
  static constexpr const char* kRpcPeek = "peek";
  static constexpr const char* kRpcRecord = "record";
  static constexpr const char* kRpcReset = "reset";
  static constexpr const char* kDecisionAllow = "allow";
  static constexpr const char* kDecisionDeny = "deny";
  static constexpr const char* kDecisionShadowDeny = "shadow_deny";
  static constexpr const char* kStorageRead = "read";
  static constexpr const char* kStorageWrite = "write";
  static constexpr const char* kKindPolicies = "policies";
  static constexpr const char* kKindCredentials = "credentials";
  static constexpr const char* kResultSuccess = "success";
  static constexpr const char* kResultFailure = "failure";
  static constexpr const char* kAuthMissingToken = "missing_token";
  static constexpr const char* kAuthUnknownToken = "unknown_token";
  static constexpr const char* kAuthMissingScope = "missing_scope";
  static constexpr const char* kAuthPolicyNotAllowed = "policy_not_allowed";

  // Upper bounds of the RPC latency buckets, 50µs to 5s.
  static const std::vector<double>& LatencyBuckets();

  // Registers every family below, the process gauges (RegisterProcessMetrics)
  // and gatehouse_build_info{version=`version`} = 1.
  GatehouseMetrics(Registry* registry, std::string_view version);
  GatehouseMetrics(const GatehouseMetrics&) = delete;
  GatehouseMetrics& operator=(const GatehouseMetrics&) = delete;

  // Every sample name exported (histograms as _bucket, _sum and _count),
  // sorted; what a scrape can contain.
  static std::vector<std::string> Names();

  // {policy, rpc: check|peek|record, decision: allow|deny|shadow_deny}
  Family<Counter>& decisions_total;
  // {policy}: calls that made a count reach its limit.
  Family<Counter>& ceiling_hits_total;
  // {policy}: lockouts started.
  Family<Counter>& lockouts_total;
  // {policy}: ceiling hits that left the subject locked until an operator
  // lifts it (lockout.permanent_after); each is in lockouts_total too.
  Family<Counter>& permanent_lockouts_total;
  // {policy}: verdicts of Check, Peek and Record decided by an exempt
  // network (allowed, nothing counted) or a deny network.
  Family<Counter>& exempt_total;
  Family<Counter>& denylisted_total;
  // {method: Check|Peek|Record|Reset|..., code: OK|INVALID_ARGUMENT|...}
  // (absl::StatusCodeToString gives the same upper-case code names.)
  Family<Counter>& grpc_requests_total;
  // {method}, seconds, LatencyBuckets().
  Family<Histogram>& grpc_request_duration_seconds;
  // {rpc: check|peek|record|reset, code: OK|INVALID_ARGUMENT|...}: the items
  // of Batch calls by outcome (the call itself is in grpc_requests_total).
  Family<Counter>& batch_items_total;
  // {operation: read|write}
  Family<Counter>& storage_errors_total;
  Gauge& audit_head_sequence;
  Gauge& audit_stream_consumers;
  // {client}: events between the head and a consumer (client id from the
  // credentials file).
  Family<Gauge>& audit_consumer_lag_events;
  // {kind: policies|credentials, result: success|failure}
  Family<Counter>& config_reloads_total;
  // {kind}, seconds since the epoch.
  Family<Gauge>& config_last_reload_success_timestamp_seconds;
  // {reason: missing_token|unknown_token|missing_scope|policy_not_allowed}
  Family<Counter>& auth_failures_total;
  // Descriptors of Envoy's ShouldRateLimit that matched no policy, by domain
  // ("(unmapped)" for a domain no policy maps).
  Family<Counter>& envoy_unmatched_descriptors_total;
  // Refused calls audited inside an aggregated event (with refused_calls)
  // instead of an event of their own; each is in auth_failures_total too.
  Counter& audit_refusals_aggregated_total;
  // RocksDB figures, computed at scrape: the caller sets the callbacks.
  CallbackGauge& storage_size_bytes;
  CallbackGauge& storage_estimated_keys;
  // The counter cache (--counter_cache_mb), set by the caller when there is
  // one: reads {result: hit|miss}, entries held and bytes charged.
  Family<CallbackGauge>& state_cache_reads_total;
  CallbackGauge& state_cache_entries;
  CallbackGauge& state_cache_bytes;
  // Lazy counter checkpoints (--checkpoint_interval): checkpoints
  // written, and keys changed since the last one began.
  CallbackGauge& counter_checkpoints_total;
  CallbackGauge& counter_dirty_keys;
  CallbackGauge& commit_groups_total;
  CallbackGauge& grouped_commits_total;
  CallbackGauge& dependent_failures_total;
  Gauge& inflight_requests;
  // 1 or 0: whether storage accepts writes (health is NOT_SERVING at 0).
  Gauge& storage_writable;
};

}  // namespace gatehouse::metrics

#endif  // GATEHOUSE_SERVICE_METRICS_GATEHOUSE_METRICS_H_
