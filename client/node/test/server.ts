// Starts the real gatehouse binary for a test: a free loopback port
// (--listen=127.0.0.1:0 + --port_file), its own temp data dir, a credentials
// file holding the hash of a random token. Stop, SIGSTOP / SIGCONT and a
// restart on the same port, for the failure tests.

import { type ChildProcess, spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";

// dist-test/test/server.js -> the repository's build/service/gatehouse.
export const GATEHOUSE_BIN =
  process.env["GATEHOUSE_BIN"] ??
  fileURLToPath(new URL("../../../../build/service/gatehouse", import.meta.url));

export const POLICIES = `
personal_dimensions: []
policies:
  - name: login_ip
    dimensions: [ip]
    limit: 3
    window: 1m
  - name: failed_auth_user_ip
    dimensions: [user, ip]
    limit: 3
    window: 15m
  - name: api_ip
    dimensions: [ip]
    limit: 2
    window: 1m
  - name: roomy
    dimensions: [user]
    limit: 1000000
    window: 1m
  - name: guarded_ip
    dimensions: [ip]
    limit: 5
    window: 1m
    exempt: [10.0.0.0/8]
    deny: [{cidr: 203.0.113.0/24, reason: "credential stuffing"}]
`;

// Servers still running when this test process ends (a failed or timed-out
// test, the runner's SIGTERM) are killed with it, never left behind.
const running = new Set<ChildProcess>();
function killRunning(): void {
  for (const child of running) child.kill("SIGKILL");
}
process.once("exit", killRunning);
process.once("SIGTERM", () => {
  killRunning();
  process.exit(143);
});

export interface ServerOptions {
  readonly policies?: string;
  /** Extra flags, e.g. TLS. */
  readonly args?: readonly string[];
}

export class GatehouseServer {
  readonly token = randomBytes(24).toString("base64url");
  readonly dir: string;
  #child: ChildProcess | null = null;
  #port = 0;
  readonly #args: readonly string[];

  private constructor(options: ServerOptions) {
    if (!existsSync(GATEHOUSE_BIN)) {
      throw new Error(`${GATEHOUSE_BIN} not found: build it (./scripts/build.sh --target gatehouse) or set GATEHOUSE_BIN`);
    }
    this.dir = mkdtempSync(join(tmpdir(), "gatehouse-node-"));
    const policies = join(this.dir, "policies.yaml");
    writeFileSync(policies, options.policies ?? POLICIES);
    const credentials = join(this.dir, "credentials.yaml");
    const hash = createHash("sha256").update(this.token).digest("hex");
    writeFileSync(
      credentials,
      `clients:\n  - id: node-test\n    token_sha256: [${hash}]\n    scopes: [admin]\n`,
    );
    this.#args = [
      `--policies=${policies}`,
      `--credentials=${credentials}`,
      `--data_dir=${join(this.dir, "data")}`,
      `--metrics_listen=127.0.0.1:0`,
      `--metrics_port_file=${join(this.dir, "metrics_port")}`,
      "--log_level=warn",
      ...(options.args ?? []),
    ];
  }

  static async start(options: ServerOptions = {}): Promise<GatehouseServer> {
    const server = new GatehouseServer(options);
    await server.#startOn(0);
    return server;
  }

  get port(): number {
    return this.#port;
  }

  get address(): string {
    return `127.0.0.1:${this.#port}`;
  }

  async #startOn(port: number): Promise<void> {
    const portFile = join(this.dir, "port");
    rmSync(portFile, { force: true });
    const child = spawn(GATEHOUSE_BIN, [`--listen=127.0.0.1:${port}`, `--port_file=${portFile}`, ...this.#args], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000);
    });
    this.#child = child;
    running.add(child);
    let exited = false;
    child.once("exit", () => {
      exited = true;
      running.delete(child);
    });
    const giveUp = Date.now() + 20_000;
    // Polling for the child's readiness (the port file appears once it
    // serves), not waiting for time.
    while (Date.now() < giveUp) {
      if (exited) throw new Error(`gatehouse exited at start-up: ${stderr}`);
      if (existsSync(portFile)) {
        const text = readFileSync(portFile, "utf8").trim();
        if (text !== "") {
          this.#port = Number(text);
          return;
        }
      }
      await sleep(10);
    }
    throw new Error(`gatehouse did not start within 20 s: ${stderr}`);
  }

  /** Stops the server (SIGTERM) and waits for it to exit. */
  async stop(): Promise<void> {
    const child = this.#child;
    if (child === null) return;
    this.#child = null;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill("SIGCONT");
    child.kill("SIGTERM");
    await exited;
  }

  /** Starts it again on the same port, with the same data. */
  async restart(): Promise<void> {
    if (this.#child !== null) throw new Error("restart: still running");
    await this.#startOn(this.#port);
  }

  /**
   * The value of one series of the server's /metrics, e.g.
   * metric("gatehouse_grpc_requests_total", {method: "Batch", code: "OK"});
   * 0 when the series is absent.
   */
  async metric(name: string, labels: Readonly<Record<string, string>>): Promise<number> {
    const port = readFileSync(join(this.dir, "metrics_port"), "utf8").trim();
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const wanted = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
    for (const line of text.split("\n")) {
      const match = /^([a-z_]+)\{([^}]*)\} (\S+)$/.exec(line);
      if (match === null || match[1] !== name) continue;
      const have = (match[2] ?? "").split(",");
      if (wanted.every((label) => have.includes(label))) return Number(match[3]);
    }
    return 0;
  }

  signal(signal: NodeJS.Signals): void {
    this.#child?.kill(signal);
  }

  /**
   * SIGSTOP, then waits until every thread of the server is stopped (state
   * T in /proc): on a loaded machine a thread already running may still
   * answer a call for a moment after the signal is sent.
   */
  async hang(): Promise<void> {
    const pid = this.#child?.pid;
    if (pid === undefined) throw new Error("hang: not running");
    this.#child?.kill("SIGSTOP");
    const giveUp = Date.now() + 10_000;
    while (Date.now() < giveUp) {
      const tasks = readdirSync(`/proc/${pid}/task`);
      const states = tasks.map((task) => {
        const stat = readFileSync(`/proc/${pid}/task/${task}/stat`, "utf8");
        return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
      });
      if (states.every((state) => state === "T" || state === "t")) return;
      await sleep(5);
    }
    throw new Error("hang: the server's threads did not all stop");
  }

  async close(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export const STREAM_POLICIES = `${POLICIES}  - name: ceiling1
    dimensions: [user]
    limit: 1
    window: 1h
`;
