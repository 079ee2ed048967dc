// The gatehouse binary's flags; each is the GatehouseServerOptions field
// of the same name.

#include "service/flags.h"

#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/time/time.h"

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
ABSL_FLAG(std::string, reflection, "auto",
          "gRPC server reflection, which answers without a token: auto (on "
          "only for a loopback --listen), on or off");
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
ABSL_FLAG(int, max_concurrent_streams, 100,
          "HTTP/2 streams one connection may have open at once "
          "(SETTINGS_MAX_CONCURRENT_STREAMS); more are refused by the "
          "transport. Bounds what a peer holds open before authentication");
ABSL_FLAG(int, max_connections, 128,
          "Client connections served at once (0 = no bound); more are closed "
          "as they are accepted. With --max_concurrent_streams, bounds the "
          "streams held before authentication");
ABSL_FLAG(int, max_memory_mb, 256,
          "Memory gRPC's own buffers may take (its ResourceQuota); under "
          "pressure gRPC refuses new connections and closes idle ones");
ABSL_FLAG(absl::Duration, handshake_timeout, absl::Seconds(10),
          "Close a new connection that has not completed its TLS and HTTP/2 "
          "handshake within this long (it holds a --max_connections slot)");
ABSL_FLAG(absl::Duration, max_connection_idle, absl::Minutes(5),
          "Close a connection that has had no call for this long (0 = "
          "never)");
ABSL_FLAG(absl::Duration, max_connection_age, absl::ZeroDuration(),
          "Ask clients to reconnect (GOAWAY) after a connection is this old "
          "(0 = never); see --max_connection_age_grace");
ABSL_FLAG(absl::Duration, max_connection_age_grace, absl::Minutes(1),
          "After --max_connection_age, how long calls may finish before the "
          "connection is closed");
ABSL_FLAG(int, decision_threads, 0,
          "Threads that decide Check/Peek/Record/Reset/Batch calls; 0 "
          "(default) = inline on gRPC's own threads, where no thread waits "
          "for a write, with --sync_writes too (the thread that writes a "
          "group answers its calls); -1 = the default");
ABSL_FLAG(bool, sync_writes, false,
          "fsync every commit (survives power loss, slower)");
ABSL_FLAG(int, block_cache_mb, 64, "RocksDB block cache size in MiB");
ABSL_FLAG(int, counter_cache_mb, 64,
          "Memory in MiB for the counter states of recently used keys, kept "
          "in front of RocksDB so that a hot key is not read from it; least "
          "recently used keys are evicted (0 = no cache)");
ABSL_FLAG(absl::Duration, checkpoint_interval, absl::Seconds(5),
          "Counter states are written to the counters' own RocksDB family "
          "lazily (their changes are durable in a redo log at once): at "
          "least this often while any key changed (10ms to 10m)");
ABSL_FLAG(int, checkpoint_max_dirty_keys, 131072,
          "... and as soon as this many keys changed since the last "
          "checkpoint; bounds the memory the changed states take (>= 1)");
ABSL_FLAG(int, write_buffer_mb, 32,
          "RocksDB memtable size in MiB, per column family (counters, "
          "audit; the redo log and lockout index take at most 8 and 4); up "
          "to two of each are held in memory");
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

GatehouseServerOptions OptionsFromFlags() {
  GatehouseServerOptions o;
  o.listen = absl::GetFlag(FLAGS_listen);
  o.port_file = absl::GetFlag(FLAGS_port_file);
  o.metrics_listen = absl::GetFlag(FLAGS_metrics_listen);
  o.metrics_port_file = absl::GetFlag(FLAGS_metrics_port_file);
  o.data_dir = absl::GetFlag(FLAGS_data_dir);
  o.policies = absl::GetFlag(FLAGS_policies);
  o.credentials = absl::GetFlag(FLAGS_credentials);
  o.allow_unauthenticated = absl::GetFlag(FLAGS_allow_unauthenticated);
  o.tls_cert_file = absl::GetFlag(FLAGS_tls_cert_file);
  o.tls_key_file = absl::GetFlag(FLAGS_tls_key_file);
  o.tls_client_ca_file = absl::GetFlag(FLAGS_tls_client_ca_file);
  o.tls_client_allowlist = absl::GetFlag(FLAGS_tls_client_allowlist);
  o.allow_plaintext = absl::GetFlag(FLAGS_allow_plaintext);
  o.reflection = absl::GetFlag(FLAGS_reflection);
  o.pseudonym_key_file = absl::GetFlag(FLAGS_pseudonym_key_file);
  o.max_streams_per_client = absl::GetFlag(FLAGS_max_streams_per_client);
  o.max_inflight_calls = absl::GetFlag(FLAGS_max_inflight_calls);
  o.max_threads = absl::GetFlag(FLAGS_max_threads);
  o.max_concurrent_streams = absl::GetFlag(FLAGS_max_concurrent_streams);
  o.max_connections = absl::GetFlag(FLAGS_max_connections);
  o.max_memory_mb = absl::GetFlag(FLAGS_max_memory_mb);
  o.handshake_timeout = absl::GetFlag(FLAGS_handshake_timeout);
  o.max_connection_idle = absl::GetFlag(FLAGS_max_connection_idle);
  o.max_connection_age = absl::GetFlag(FLAGS_max_connection_age);
  o.max_connection_age_grace = absl::GetFlag(FLAGS_max_connection_age_grace);
  o.decision_threads = absl::GetFlag(FLAGS_decision_threads);
  o.sync_writes = absl::GetFlag(FLAGS_sync_writes);
  o.block_cache_mb = absl::GetFlag(FLAGS_block_cache_mb);
  o.counter_cache_mb = absl::GetFlag(FLAGS_counter_cache_mb);
  o.checkpoint_interval = absl::GetFlag(FLAGS_checkpoint_interval);
  o.checkpoint_max_dirty_keys = absl::GetFlag(FLAGS_checkpoint_max_dirty_keys);
  o.write_buffer_mb = absl::GetFlag(FLAGS_write_buffer_mb);
  o.audit_retention = absl::GetFlag(FLAGS_audit_retention);
  o.audit_max_mb = absl::GetFlag(FLAGS_audit_max_mb);
  o.retention_interval = absl::GetFlag(FLAGS_retention_interval);
  o.refusal_audit_interval = absl::GetFlag(FLAGS_refusal_audit_interval);
  o.watch_interval = absl::GetFlag(FLAGS_watch_interval);
  o.shutdown_grace = absl::GetFlag(FLAGS_shutdown_grace);
  o.version = GATEHOUSE_VERSION;
  return o;
}

std::string LogLevelFlag() { return absl::GetFlag(FLAGS_log_level); }

}  // namespace gatehouse
