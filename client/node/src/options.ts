// Options of GatehouseClient: their types, their documented defaults (in
// one place: DEFAULTS) and their validation, which names the option.

/** What the client answers when it has no answer from the service. */
export type FailureMode = "open" | "closed";

/**
 * What the client answers for a request refused for its values (invalid
 * before sending, or INVALID_ARGUMENT from the service): "deny" (default),
 * since a value an attacker chose must never open the gate, or
 * "failureMode" to answer as during an outage.
 */
export type InvalidRequestMode = "deny" | "failureMode";

/** TLS to the service; plaintext when absent or false. */
export interface TlsOptions {
  /** PEM of the CA that signed the server's certificate; the system's roots when absent. */
  readonly ca?: string | Buffer;
  /** PEM client certificate and key, for mTLS (both or neither). */
  readonly cert?: string | Buffer;
  readonly key?: string | Buffer;
  /** Overrides the name checked against the server's certificate. */
  readonly serverName?: string;
}

export interface CoalesceOptions {
  /**
   * How long the oldest queued call waits for others before its Batch is
   * sent, in ms. 0: until the end of the current turn of the event loop
   * (setImmediate), which gathers every call made by the I/O callbacks that
   * ran together; more waits longer on a timer.
   */
  readonly lingerMs?: number;
  /** Most calls in one Batch, 1..256. */
  readonly maxBatch?: number;
  /**
   * Most long-lived RateLimiter.BatchStream calls the batches are sent
   * over, 0..16: a stream pays an RPC's set-up once rather than per batch,
   * and the service decides one batch at a time per stream; another is
   * opened only when every open one has two batches waiting. 0 sends each
   * batch as a Batch RPC, as does a service without BatchStream.
   */
  readonly streams?: number;
}

export interface GatehouseClientOptions {
  /** host:port of the service, e.g. "127.0.0.1:50051". Required. */
  readonly address: string;
  /** Sent as "authorization: Bearer <token>"; defaults to $GATEHOUSE_TOKEN. */
  readonly token?: string;
  readonly failureMode?: FailureMode;
  /** Default deadline of each call, ms, positive. */
  readonly deadlineMs?: number;
  readonly tls?: TlsOptions | boolean;
  /** Coalescing of concurrent calls into Batch RPCs; false turns it off. */
  readonly coalesce?: CoalesceOptions | boolean;
  readonly invalidRequestMode?: InvalidRequestMode;
  /** Consecutive failed calls, >= 1, after which calls fail fast for a cool-down. */
  readonly failuresBeforeCooldown?: number;
  /** First cool-down, ms; each failed probe doubles it up to cooldownMaxMs. */
  readonly cooldownInitialMs?: number;
  readonly cooldownMaxMs?: number;
  /** Each cool-down is shortened by a random fraction up to this, 0 <= j < 1. */
  readonly cooldownJitter?: number;
  /** Times a Peek is re-sent after UNAVAILABLE within its deadline, >= 0. */
  readonly peekRetries?: number;
  /** Upper bound of gRPC's reconnect backoff, ms (gRPC's default is 120 s). */
  readonly maxReconnectBackoffMs?: number;
  /** Time source of the cool-downs, ms; Date.now when absent. For tests. */
  readonly now?: () => number;
}

export const DEFAULTS = {
  failureMode: "open",
  deadlineMs: 200,
  invalidRequestMode: "deny",
  coalesce: { lingerMs: 0, maxBatch: 64, streams: 2 },
  failuresBeforeCooldown: 5,
  cooldownInitialMs: 500,
  cooldownMaxMs: 5000,
  cooldownJitter: 0.2,
  peekRetries: 1,
  maxReconnectBackoffMs: 1000,
} as const;

/** The options after defaults are applied and validated. */
export interface ResolvedOptions {
  readonly address: string;
  readonly token: string;
  readonly failureMode: FailureMode;
  readonly deadlineMs: number;
  readonly tls: TlsOptions | null;
  readonly coalesce: Required<CoalesceOptions> | null;
  readonly invalidRequestMode: InvalidRequestMode;
  readonly failuresBeforeCooldown: number;
  readonly cooldownInitialMs: number;
  readonly cooldownMaxMs: number;
  readonly cooldownJitter: number;
  readonly peekRetries: number;
  readonly maxReconnectBackoffMs: number;
  readonly now: () => number;
}

function fail(option: string, why: string): never {
  throw new TypeError(`GatehouseClient option ${option}: ${why}`);
}

function checkNumber(
  option: string,
  value: number,
  min: number,
  max: number,
  integer: boolean,
): number {
  if (typeof value !== "number" || Number.isNaN(value)) {
    fail(option, `must be a number, got ${typeof value}`);
  }
  if (integer && !Number.isInteger(value)) fail(option, `must be an integer, got ${value}`);
  if (value < min || value > max) fail(option, `must be in [${min}, ${max}], got ${value}`);
  return value;
}

function checkOneOf<T extends string>(option: string, value: T, allowed: readonly T[]): T {
  if (!allowed.includes(value)) {
    fail(option, `must be one of ${allowed.map((a) => `"${a}"`).join(", ")}, got ${String(value)}`);
  }
  return value;
}

/** Applies the defaults; throws a TypeError naming the option on a bad one. */
export function resolveOptions(options: GatehouseClientOptions): ResolvedOptions {
  if (options === null || typeof options !== "object") fail("options", "must be an object");
  if (typeof options.address !== "string" || options.address === "") {
    fail("address", 'must be a non-empty "host:port" string');
  }
  const token = options.token ?? process.env["GATEHOUSE_TOKEN"] ?? "";
  if (typeof token !== "string") fail("token", "must be a string");
  // A gRPC metadata value: printable ASCII.
  if (!/^[\x20-\x7e]*$/.test(token)) fail("token", "must be printable ASCII");

  let tls: TlsOptions | null = null;
  if (options.tls === true) tls = {};
  else if (options.tls !== undefined && options.tls !== false) {
    if (typeof options.tls !== "object") fail("tls", "must be a boolean or an object");
    tls = options.tls;
    if ((tls.cert === undefined) !== (tls.key === undefined)) {
      fail("tls", "cert and key go together (both or neither)");
    }
  }

  let coalesce: Required<CoalesceOptions> | null = null;
  if (options.coalesce === undefined || options.coalesce === true) {
    coalesce = { ...DEFAULTS.coalesce };
  } else if (options.coalesce !== false) {
    if (typeof options.coalesce !== "object") fail("coalesce", "must be a boolean or an object");
    coalesce = {
      lingerMs: checkNumber(
        "coalesce.lingerMs",
        options.coalesce.lingerMs ?? DEFAULTS.coalesce.lingerMs,
        0,
        10_000,
        false,
      ),
      maxBatch: checkNumber(
        "coalesce.maxBatch",
        options.coalesce.maxBatch ?? DEFAULTS.coalesce.maxBatch,
        1,
        256,
        true,
      ),
      streams: checkNumber(
        "coalesce.streams",
        options.coalesce.streams ?? DEFAULTS.coalesce.streams,
        0,
        16,
        true,
      ),
    };
  }

  const cooldownInitialMs = checkNumber(
    "cooldownInitialMs",
    options.cooldownInitialMs ?? DEFAULTS.cooldownInitialMs,
    Number.MIN_VALUE,
    Number.MAX_SAFE_INTEGER,
    false,
  );
  const cooldownMaxMs = checkNumber(
    "cooldownMaxMs",
    options.cooldownMaxMs ?? Math.max(DEFAULTS.cooldownMaxMs, cooldownInitialMs),
    cooldownInitialMs,
    Number.MAX_SAFE_INTEGER,
    false,
  );
  const now = options.now ?? Date.now;
  if (typeof now !== "function") fail("now", "must be a function returning ms");

  return {
    address: options.address,
    token,
    failureMode: checkOneOf("failureMode", options.failureMode ?? DEFAULTS.failureMode, [
      "open",
      "closed",
    ]),
    deadlineMs: checkNumber(
      "deadlineMs",
      options.deadlineMs ?? DEFAULTS.deadlineMs,
      Number.MIN_VALUE,
      2_147_483_647,
      false,
    ),
    tls,
    coalesce,
    invalidRequestMode: checkOneOf(
      "invalidRequestMode",
      options.invalidRequestMode ?? DEFAULTS.invalidRequestMode,
      ["deny", "failureMode"],
    ),
    failuresBeforeCooldown: checkNumber(
      "failuresBeforeCooldown",
      options.failuresBeforeCooldown ?? DEFAULTS.failuresBeforeCooldown,
      1,
      Number.MAX_SAFE_INTEGER,
      true,
    ),
    cooldownInitialMs,
    cooldownMaxMs,
    cooldownJitter: checkNumber(
      "cooldownJitter",
      options.cooldownJitter ?? DEFAULTS.cooldownJitter,
      0,
      0.999999,
      false,
    ),
    peekRetries: checkNumber(
      "peekRetries",
      options.peekRetries ?? DEFAULTS.peekRetries,
      0,
      100,
      true,
    ),
    maxReconnectBackoffMs: checkNumber(
      "maxReconnectBackoffMs",
      options.maxReconnectBackoffMs ?? DEFAULTS.maxReconnectBackoffMs,
      1,
      2_147_483_647,
      true,
    ),
    now,
  };
}
