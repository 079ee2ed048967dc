// bench/run.sh's Node scenario: one Node process, 64 sign-ins (or consume()
// calls) in flight, for --duration seconds after --warmup seconds.
//
//   node signin-bench.mjs --target=gatehouse|rlf --addr=HOST:PORT
//       --server_pid=PID --label=L --out=results.jsonl [--token_file=F]
//       [--keys=N] [--inflight=64] [--duration=10] [--warmup=2]
//       [--linger_ms=0] [--max_batch=64] [--streams=2]   (the client's
//       coalesce options; --streams=0 sends each batch as a Batch RPC)
//
// gatehouse: SignInGuard.before({user, ip}) of @gatehouse/client (a Peek of
//   failed_auth_user_ip and a Check of login_ip: 2 decisions), coalescing on
//   (the default), as an API process calls it before verifying a password.
// rlf: rate-limiter-flexible's RateLimiterRedis.consume(ip) on ioredis, 20
//   points a minute (login_ip's limit): 1 decision, what a Node team uses
//   today.
// Appends one JSON line in bench_main's fields (decisions_per_s, p99_us,
// server_cores, client_cores, ...) plus client_cpu_us_per_decision.

import { readFileSync, appendFileSync } from "node:fs";
import { performance } from "node:perf_hooks";

const args = Object.fromEntries(
  process.argv.slice(2).map((a) => {
    const [k, ...v] = a.replace(/^--/, "").split("=");
    return [k, v.join("=")];
  }),
);
const target = args.target;
const keys = Number(args.keys ?? 100000);
const inflight = Number(args.inflight ?? 64);
const duration = Number(args.duration ?? 10) * 1000;
const warmup = Number(args.warmup ?? 2) * 1000;
const serverPid = Number(args.server_pid);
const clkTck = 100;

function serverCpuSeconds() {
  // utime + stime of /proc/PID/stat, in clock ticks.
  const stat = readFileSync(`/proc/${serverPid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / clkTck;
}

function serverRssMib() {
  const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${serverPid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : 0;
}

// A fixed-seed generator, so both targets see the same key sequence.
let seed = 12345;
function random() {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return seed / 0x100000000;
}
function ipOf(i) {
  return `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
}

let decide; // () => Promise<{decisions, denied, error}>
let close;
if (target === "gatehouse") {
  const { GatehouseClient, SignInGuard } = await import("../../client/node/dist/index.js");
  const token = readFileSync(args.token_file, "utf8").trim();
  const client = new GatehouseClient({
    address: args.addr,
    token,
    deadlineMs: 2000,
    coalesce: {
      lingerMs: Number(args.linger_ms ?? 0),
      maxBatch: Number(args.max_batch ?? 64),
      streams: Number(args.streams ?? 2),
    },
  });
  const guard = new SignInGuard({ client });
  decide = async () => {
    const i = Math.floor(random() * keys);
    const answer = await guard.before({ user: `user${i}@example.com`, ip: ipOf(i) });
    const error = answer.results.some((r) => r.status !== undefined);
    const denied = answer.results.filter((r) => !r.allowed).length;
    return { decisions: 2, denied, error };
  };
  close = () => client.close();
} else if (target === "rlf") {
  const { default: Redis } = await import("ioredis");
  const { RateLimiterRedis, RateLimiterRes } = await import("rate-limiter-flexible");
  const [host, port] = args.addr.split(":");
  const redis = new Redis({ host, port: Number(port), enableOfflineQueue: false, lazyConnect: true });
  await redis.connect();
  const limiter = new RateLimiterRedis({ storeClient: redis, keyPrefix: "login_ip", points: 20, duration: 60 });
  decide = async () => {
    const i = Math.floor(random() * keys);
    try {
      await limiter.consume(ipOf(i));
      return { decisions: 1, denied: 0, error: false };
    } catch (e) {
      if (e instanceof RateLimiterRes) return { decisions: 1, denied: 1, error: false };
      return { decisions: 1, denied: 0, error: true };
    }
  };
  close = async () => redis.quit();
} else {
  throw new Error(`unknown --target ${target}`);
}

let measuring = false;
let stop = false;
let calls = 0;
let decisions = 0;
let denied = 0;
let errors = 0;
const latencies = [];

async function worker() {
  while (!stop) {
    const t0 = performance.now();
    const r = await decide();
    if (!measuring) continue;
    latencies.push(performance.now() - t0);
    ++calls;
    decisions += r.decisions;
    denied += r.denied;
    if (r.error) ++errors;
  }
}

const workers = Array.from({ length: inflight }, () => worker());
await new Promise((resolve) => setTimeout(resolve, warmup));
measuring = true;
const cpu0 = process.cpuUsage();
const srv0 = serverCpuSeconds();
const t0 = performance.now();
await new Promise((resolve) => setTimeout(resolve, duration));
measuring = false;
const wall = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
const srvCpu = serverCpuSeconds() - srv0;
stop = true;
await Promise.all(workers);
await close();

latencies.sort((a, b) => a - b);
const pct = (p) => (latencies.length === 0 ? 0 : latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] * 1000);
const clientCpu = (cpu.user + cpu.system) / 1e6;
const line = {
  label: args.label,
  decisions_per_s: +(decisions / wall).toFixed(0),
  calls_per_s: +(calls / wall).toFixed(0),
  p50_us: +pct(0.5).toFixed(0),
  p99_us: +pct(0.99).toFixed(0),
  p999_us: +pct(0.999).toFixed(0),
  server_cores: +(srvCpu / wall).toFixed(2),
  client_cores: +(clientCpu / wall).toFixed(2),
  client_cpu_us_per_decision: +((clientCpu * 1e6) / Math.max(1, decisions)).toFixed(1),
  server_peak_rss_mib: +serverRssMib().toFixed(0),
  decisions,
  denied,
  errors,
};
appendFileSync(args.out, `${JSON.stringify(line)}\n`);
console.error(JSON.stringify(line));
