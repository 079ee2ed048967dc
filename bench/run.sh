#!/usr/bin/env bash
# The benchmark: builds (Release), starts a fresh gatehouse on a temp data
# dir and a Redis on loopback, runs every scenario with the same load
# generator settings, prints the table and the target ratios and writes
# them as JSON. See bench/RESULTS.md.
#
#   bench/run.sh [--smoke] [--json PATH] [--botnet_keys N] [--duration SECS]
#                [--inflight N] [--channels N] [--threads N]
#                [--skip_botnet] [--skip_sync] [--no_build]
#                [--only main,coalesce,sync,redis,botnet,node,lockouts]
#                [--merge JSONL] [--lockout_counters N] [--lockouts N]
#                [--build_dir DIR] [--bin_dir DIR] [--out_dir DIR]
#
# --only runs only those parts; --merge adds the runs of an earlier
# results.jsonl (e.g. a botnet run) to the report.
#
# lockouts (opt-in: not among the parts run by default, nor in --smoke):
# the lockout index's paging claim. gatehouse_lockout_bench writes
# --lockout_counters counter states (10M) straight through the RocksDB
# store, --lockouts (10k) of them locked out, times the store's own
# ListLockouts pages, then a gatehouse started on that data serves
# Admin/ListLockouts pages to it (an operator client with the admin scope).
#
# --smoke: a few seconds in all, tiny key counts (the ctest bench_smoke);
# it skips the Node part, whose npm packages are installed by a full run.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=$ROOT/build-bench
OUT_DIR=""
JSON_OUT=""
SMOKE=0
BUILD=1
BOTNET_KEYS=10000000
DURATION=10
WARMUP=2
INFLIGHT=64
CHANNELS=4
THREADS=1
ONLY=main,coalesce,sync,redis,botnet,node
MERGE=""
BIN_DIR=""
LOCKOUT_COUNTERS=10000000
LOCKOUTS=10000
while (($#)); do
  case "$1" in
    --smoke) SMOKE=1 ;;
    --no_build) BUILD=0 ;;
    --build_dir) BUILD_DIR=$2; shift ;;
    --out_dir) OUT_DIR=$2; shift ;;
    --json) JSON_OUT=$2; shift ;;
    --botnet_keys) BOTNET_KEYS=$2; shift ;;
    --duration) DURATION=$2; shift ;;
    --inflight) INFLIGHT=$2; shift ;;
    --channels) CHANNELS=$2; shift ;;
    --threads) THREADS=$2; shift ;;
    --skip_botnet) ONLY=${ONLY//botnet/} ;;
    --skip_sync) ONLY=${ONLY//sync/} ;;
    --only) ONLY=$2; shift ;;
    --merge) MERGE=$2; shift ;;
    --bin_dir) BIN_DIR=$2; shift ;;
    --lockout_counters) LOCKOUT_COUNTERS=$2; shift ;;
    --lockouts) LOCKOUTS=$2; shift ;;
    *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
KEYS=100000
HOT_KEYS=16
if ((SMOKE)); then
  DURATION=0.5 WARMUP=0.1 KEYS=1000 BOTNET_KEYS=2000
  ONLY=${ONLY//node/}
fi
OUT_DIR=${OUT_DIR:-$ROOT/bench/out}
JSON_OUT=${JSON_OUT:-$( ((SMOKE)) && echo "$OUT_DIR/results.json" || echo "$ROOT/bench/results.json")}
mkdir -p "$OUT_DIR"
JSONL=$OUT_DIR/results.jsonl
: > "$JSONL"

part() { [[ ,$ONLY, == *,$1,* ]]; }
if ((BUILD)); then
  "$ROOT/scripts/install-deps.sh"
  cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$BUILD_DIR" -j"$(nproc)" --target gatehouse gatehouse_bench \
    $(part lockouts && echo gatehouse_lockout_bench)
fi
GATEHOUSE=${BIN_DIR:-$BUILD_DIR/service}/gatehouse
BENCH=${BIN_DIR:-$BUILD_DIR/bench}/gatehouse_bench
LOCKOUT_BENCH=${BIN_DIR:-$BUILD_DIR/bench}/gatehouse_lockout_bench
for bin in "$GATEHOUSE" "$BENCH" $(part lockouts && echo "$LOCKOUT_BENCH"); do
  [[ -x $bin ]] || { echo "run.sh: $bin is not built" >&2; exit 1; }
done
command -v redis-server >/dev/null || { echo "run.sh: redis-server is not installed (scripts/install-deps.sh)" >&2; exit 1; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/gatehouse-bench-XXXXXX")
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

# A bearer token whose SHA-256 is the only thing the server is given, and
# a pseudonym key: generated, never invented.
head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n' > "$WORK/token"
head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n' > "$WORK/pseudonym.key"
head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n' > "$WORK/operator.token"
cat > "$WORK/credentials.yaml" <<YAML
clients:
  - id: bench
    token_sha256: [$(tr -d '\n' < "$WORK/token" | sha256sum | cut -d' ' -f1)]
    scopes: [check, peek, record, reset]
  - id: bench-operator
    token_sha256: [$(tr -d '\n' < "$WORK/operator.token" | sha256sum | cut -d' ' -f1)]
    scopes: [admin]
YAML

now_ns() { date +%s%N; }

# start_server NAME [FLAGS...]: a fresh gatehouse with its data in
# $WORK/NAME; sets SERVER_PID, SERVER_ADDR and READY_SECONDS (exec to
# port file, which is written once the server accepts calls).
start_server() {
  local name=$1; shift
  rm -f "$WORK/$name.port"
  local t0; t0=$(now_ns)
  "$GATEHOUSE" --listen=127.0.0.1:0 --port_file="$WORK/$name.port" \
    --data_dir="$WORK/$name" --policies="$ROOT/bench/policies.yaml" \
    --credentials="$WORK/credentials.yaml" \
    --pseudonym_key_file="$WORK/pseudonym.key" --metrics_listen=127.0.0.1:0 \
    --log_level=warn "$@" 2>>"$OUT_DIR/server-$name.log" &
  SERVER_PID=$!
  PIDS+=("$SERVER_PID")
  for _ in $(seq 1 3000); do
    [[ -s $WORK/$name.port ]] && break
    kill -0 "$SERVER_PID" 2>/dev/null || { echo "run.sh: gatehouse exited; see $OUT_DIR/server-$name.log" >&2; exit 1; }
    sleep 0.01
  done
  [[ -s $WORK/$name.port ]] || { echo "run.sh: gatehouse did not start" >&2; exit 1; }
  READY_SECONDS=$(awk -v a="$t0" -v b="$(now_ns)" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
  SERVER_ADDR=127.0.0.1:$(cat "$WORK/$name.port")
}

stop_server() {
  kill -TERM "$SERVER_PID"
  wait "$SERVER_PID" || true
}

# run LABEL TARGET ADDR PID [FLAGS...]: one scenario, one JSON line.
run() {
  local label=$1 target=$2 addr=$3 pid=$4; shift 4
  echo "== $label" >&2
  "$BENCH" --target="$target" --addr="$addr" --server_pid="$pid" \
    --token_file="$WORK/token" --label="$label" --out="$JSONL" \
    --threads="$THREADS" --channels="$CHANNELS" --inflight="$INFLIGHT" \
    --duration="${DURATION}s" --warmup="${WARMUP}s" "$@" >/dev/null
}

field() {  # field LABEL NAME: a number from the results so far.
  sed -n "s/^{\"label\":\"$1\",.*\"$2\":\([-0-9.e+]*\).*/\1/p" "$JSONL" | tail -1
}

# The unary and batched scenarios, against gatehouse (PREFIX gh_ or
# gh_sync_) or Redis (redis_).
scenarios() {
  local prefix=$1 target=$2 addr=$3 pid=$4 writes_only=${5:-0}
  if ((!writes_only)); then
    run "${prefix}peek_hot" "$target" "$addr" "$pid" --scenario=peek_hot --keys=$HOT_KEYS
  fi
  run "${prefix}check_ips" "$target" "$addr" "$pid" --scenario=check_ips --keys=$KEYS
  if [[ $target == gatehouse ]] && ((!writes_only)); then
    run "${prefix}envoy_ips" "$target" "$addr" "$pid" --scenario=envoy_ips --keys=$KEYS
  fi
  run "${prefix}record_users" "$target" "$addr" "$pid" --scenario=record_users --keys=$KEYS --dist=zipf
  run "${prefix}signin" "$target" "$addr" "$pid" --scenario=signin --keys=$KEYS
  run "${prefix}check_batch16" "$target" "$addr" "$pid" --scenario=check_batch --batch=16 --keys=$KEYS
}

echo "{\"label\":\"machine\",\"nproc\":$(nproc),\"cpu\":\"$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)\",\"kernel\":\"$(uname -r)\",\"load\":\"$(cut -d' ' -f1-3 /proc/loadavg)\",\"smoke\":$SMOKE}" >> "$JSONL"

# Default durability: the write-ahead log, survives a process crash.
if part main; then
start_server main
run gh_health gatehouse "$SERVER_ADDR" "$SERVER_PID" --scenario=health
scenarios gh_ gatehouse "$SERVER_ADDR" "$SERVER_PID"
# p99 at half of the peak load just measured (paced, from when each call
# was due); the no-op floor's own at half of its peak, for reference.
for s in health peek_hot check_ips; do
  rate=$(awk -v r="$(field gh_$s calls_per_s)" 'BEGIN { printf "%.0f", r / 2 }')
  keys=$([[ $s == peek_hot ]] && echo $HOT_KEYS || echo $KEYS)
  run "gh_${s}_half" gatehouse "$SERVER_ADDR" "$SERVER_PID" --scenario=$s --keys="$keys" --rate="$rate"
done
stop_server
fi

# An API process with 64 concurrent sign-ins (the README's flow, one
# decision per call) through gatehouse::Client: one RPC per decision, then
# coalesced into Batch RPCs.
if part coalesce; then
  start_server coalesce
  run gh_uncoalesced client "$SERVER_ADDR" "$SERVER_PID" --scenario=signin_unary --keys=$KEYS --inflight=64
  run gh_coalesced client "$SERVER_ADDR" "$SERVER_PID" --scenario=signin_unary --keys=$KEYS --inflight=64 --coalesce_linger=200us
  stop_server
fi

# Synced durability: group commit with fsync, survives power loss.
if part sync; then
  start_server sync --sync_writes
  scenarios gh_sync_ gatehouse "$SERVER_ADDR" "$SERVER_PID" 1
  stop_server
fi

# start_redis: a Redis 7 on a free loopback port, no persistence; sets
# REDIS_PID and REDIS_PORT.
start_redis() {
  REDIS_PORT=""
  for _ in $(seq 1 50); do
    p=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then REDIS_PORT=$p; break; fi
  done
  mkdir -p "$WORK/redis"
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no \
    --dir "$WORK/redis" --daemonize no --logfile "$OUT_DIR/redis.log" &
  REDIS_PID=$!
  PIDS+=("$REDIS_PID")
  for _ in $(seq 1 500); do
    redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break
    sleep 0.01
  done
}

# Redis 7 + Lua, on loopback, no persistence, same load settings.
if part redis; then
start_redis
run redis_ping redis "127.0.0.1:$REDIS_PORT" "$REDIS_PID" --scenario=health
scenarios redis_ redis "127.0.0.1:$REDIS_PORT" "$REDIS_PID"
kill -TERM "$REDIS_PID"; wait "$REDIS_PID" || true
fi

# Node (issue 17): one Node process, 64 in flight, rate-limiter-flexible's
# consume() on Redis against 64 concurrent sign-ins through @gatehouse/client
# (SignInGuard.before: Peek + Check, 2 decisions, coalescing on, batches on
# BatchStream calls; then as Batch RPCs, for reference). Installs
# the packages from the committed lockfiles (the npm registry, nothing else).
if part node; then
  (cd "$ROOT/client/node" && npm ci --no-audit --no-fund --loglevel=error && npm run build >/dev/null)
  (cd "$ROOT/bench/node" && npm ci --no-audit --no-fund --loglevel=error)
  node_run() {
    echo "== $1" >&2
    node "$ROOT/bench/node/signin-bench.mjs" --label="$1" --target="$2" --addr="$3" \
      --server_pid="$4" --token_file="$WORK/token" --out="$JSONL" --keys=$KEYS \
      --inflight="$INFLIGHT" --duration="$DURATION" --warmup="$WARMUP" "${@:5}"
  }
  start_redis
  node_run node_rlf_redis rlf "127.0.0.1:$REDIS_PORT" "$REDIS_PID"
  kill -TERM "$REDIS_PID"; wait "$REDIS_PID" || true
  start_server node
  node_run node_gh_signin gatehouse "$SERVER_ADDR" "$SERVER_PID"
  stop_server
  # The same with each batch sent as a Batch RPC (coalesce.streams 0), as
  # against a service without BatchStream: what the streams save.
  start_server node_unary
  node_run node_gh_signin_batch_rpc gatehouse "$SERVER_ADDR" "$SERVER_PID" --streams=0
  stop_server
fi

# Botnet: one failed record for each of BOTNET_KEYS distinct IPs; then the
# data's size once compacted and the time a restart takes to serve again.
if part botnet; then
  start_server botnet
  # The hot-key reference for the botnet's throughput, in the same conditions.
  run gh_botnet_ref_peek_hot gatehouse "$SERVER_ADDR" "$SERVER_PID" --scenario=peek_hot --keys=$HOT_KEYS
  run gh_botnet gatehouse "$SERVER_ADDR" "$SERVER_PID" --scenario=botnet \
    --keys="$BOTNET_KEYS" --dist=seq --warmup=0s --duration=7200s
  stop_server
  before=$(du -sb "$WORK/botnet" | cut -f1)
  "$BENCH" --compact_data_dir="$WORK/botnet" --label=botnet_disk --out="$JSONL" >/dev/null
  after=$(du -sb "$WORK/botnet" | cut -f1)
  echo "{\"label\":\"botnet_du\",\"keys\":$BOTNET_KEYS,\"bytes_before_compaction\":$before,\"bytes_after_compaction\":$after,\"bytes_per_key_after\":$(awk -v a="$after" -v k="$BOTNET_KEYS" 'BEGIN { printf "%.1f", a / k }')}" >> "$JSONL"
  start_server botnet
  rss=$(awk '/VmRSS/ { print $2 / 1024 }' "/proc/$SERVER_PID/status")
  echo "{\"label\":\"botnet_restart\",\"seconds\":$READY_SECONDS,\"rss_mib_after_restart\":$rss}" >> "$JSONL"
  stop_server
fi

# The lockout index with 10M counters (opt-in, see the top): the data set
# is built through the store (its build time and size on disk as written),
# its pages timed in process, again once compacted, then through a server
# started on it (a cold block cache).
if part lockouts; then
  echo "== lockouts: building $LOCKOUT_COUNTERS counters, $LOCKOUTS locked out" >&2
  "$LOCKOUT_BENCH" --build_data_dir="$WORK/lockouts" \
    --counters="$LOCKOUT_COUNTERS" --lockouts="$LOCKOUTS" --out="$JSONL" >/dev/null
  lockouts_du() {
    local bytes; bytes=$(du -sb "$WORK/lockouts" | cut -f1)
    echo "{\"label\":\"$1\",\"counters\":$LOCKOUT_COUNTERS,\"bytes\":$bytes,\"bytes_per_counter\":$(awk -v a="$bytes" -v k="$LOCKOUT_COUNTERS" 'BEGIN { printf "%.1f", a / k }')}" >> "$JSONL"
  }
  lockouts_du lockouts_du
  # Compacted, so that the index is read from SST files as in a server
  # that has run for a while, not from the memtable the build filled.
  "$LOCKOUT_BENCH" --time_data_dir="$WORK/lockouts" --compact \
    --lockouts="$LOCKOUTS" --out="$JSONL" >/dev/null
  lockouts_du lockouts_du_compacted
  start_server lockouts
  echo "{\"label\":\"lockouts_restart\",\"seconds\":$READY_SECONDS}" >> "$JSONL"
  echo "== lockouts: Admin/ListLockouts through the server" >&2
  "$LOCKOUT_BENCH" --addr="$SERVER_ADDR" --token_file="$WORK/operator.token" \
    --lockouts="$LOCKOUTS" --out="$JSONL" >/dev/null
  stop_server
fi

if [[ -n $MERGE ]]; then grep -v '"label":"machine"' "$MERGE" >> "$JSONL"; fi
"$BENCH" --report="$JSONL" --json_out="$JSON_OUT"
