// The audit trail and ceiling events as async iterators that reconnect
// (with a growing delay) and resume from the last sequence seen, so that
// each event is delivered once, in order, across disconnects and restarts.
// Both need a token with the `audit` scope. End one with `break` or with
// the AbortSignal; a refusal that retrying cannot fix (UNAUTHENTICATED,
// PERMISSION_DENIED, INVALID_ARGUMENT, OUT_OF_RANGE for history no longer
// retained) is thrown.

import { type ClientReadableStream, type Metadata, type ServiceError, status as Code } from "@grpc/grpc-js";
import { setTimeout as sleep } from "node:timers/promises";
import { type AuditEvent as ProtoAuditEvent, AuditClient, type StreamRequest } from "./gen/gatehouse/v1/audit.js";
import { type CeilingEvent as ProtoCeilingEvent, Verdict_Decision } from "./gen/gatehouse/v1/ratelimit.js";
import type { Duration } from "./gen/google/protobuf/duration.js";
import type { Decision } from "./types.js";

export interface ReconnectOptions {
  /** Ends the iteration (it then returns, without an error). */
  readonly signal?: AbortSignal;
  /** Delay before the first reconnect, ms, doubled up to reconnectMaxMs; default 100. */
  readonly reconnectInitialMs?: number;
  /** Default 5000. */
  readonly reconnectMaxMs?: number;
}

export interface AuditStreamOptions extends ReconnectOptions {
  /** The first sequence to deliver; from the oldest retained event when absent (or fromNow). */
  readonly fromSequence?: number;
  /** Only events appended after the stream starts (when fromSequence is absent). */
  readonly fromNow?: boolean;
  /** Keep delivering new events after the history; default true. */
  readonly follow?: boolean;
  readonly policies?: readonly string[];
  readonly decisions?: readonly Decision[];
  readonly ceilingOnly?: boolean;
}

export interface WatchCeilingsOptions extends ReconnectOptions {
  /** Only these policies; all when absent. */
  readonly policies?: readonly string[];
  /** Called each time the watch is established (first time and after each reconnect). */
  readonly onWatching?: () => void;
}

export interface AuditEvent {
  readonly sequence: number;
  readonly time: Date | null;
  readonly clientId: string;
  readonly rpc: string;
  readonly policy: string;
  /** As stored: personal dimensions pseudonymised. */
  readonly key: Readonly<Record<string, string>>;
  readonly decision: Decision | null;
  readonly count: number;
  readonly limit: number;
  readonly hits: number;
  readonly ceilingHit: boolean;
  readonly shadow: boolean;
  readonly context: Readonly<Record<string, string>>;
  readonly lockedUntil: Date | null;
  /** The lockout lasts until an operator lifts it (lockedUntil shows year 9999). */
  readonly permanent: boolean;
  readonly windowMs: number;
  /** Set when the call was refused: the code and reason. */
  readonly refusal: string;
}

export interface CeilingEvent {
  readonly sequence: number;
  readonly time: Date | null;
  readonly policy: string;
  readonly key: Readonly<Record<string, string>>;
  readonly count: number;
  readonly limit: number;
  readonly windowMs: number;
  readonly lockedUntil: Date | null;
  /** The lockout lasts until an operator lifts it (lockedUntil shows year 9999). */
  readonly permanent: boolean;
  /** "Check", "Record" or "ShouldRateLimit". */
  readonly rpc: string;
}

/** What the stream helpers need of a GatehouseClient. */
export interface StreamHost {
  readonly auditStub: AuditClient;
  metadata(waitForReady: boolean): Metadata;
  watchCeilingsCall(policies: readonly string[], metadata: Metadata): ClientReadableStream<ProtoCeilingEvent>;
}

const FATAL: ReadonlySet<number> = new Set([
  Code.UNAUTHENTICATED,
  Code.PERMISSION_DENIED,
  Code.INVALID_ARGUMENT,
  Code.OUT_OF_RANGE,
  Code.NOT_FOUND,
  Code.UNIMPLEMENTED,
]);

function isServiceError(error: unknown): error is ServiceError {
  return error instanceof Error && typeof (error as Partial<ServiceError>).code === "number";
}

function durationMs(duration: Duration | undefined): number {
  return duration === undefined ? 0 : duration.seconds * 1000 + Math.floor(duration.nanos / 1e6);
}

function decisionOf(decision: Verdict_Decision): Decision | null {
  if (decision === Verdict_Decision.ALLOW) return "ALLOW";
  if (decision === Verdict_Decision.DENY) return "DENY";
  return null;
}

function auditEventOf(e: ProtoAuditEvent): AuditEvent {
  return {
    sequence: e.sequence,
    time: e.time ?? null,
    clientId: e.clientId,
    rpc: e.rpc,
    policy: e.policy,
    key: e.key,
    decision: decisionOf(e.decision),
    count: e.count,
    limit: e.limit,
    hits: e.hits,
    ceilingHit: e.ceilingHit,
    shadow: e.shadow,
    context: e.context,
    lockedUntil: e.lockedUntil ?? null,
    permanent: e.permanent,
    windowMs: durationMs(e.window),
    refusal: e.refusal,
  };
}

// A crossing as WatchCeilings sends it, or as read back from the audit log
// (the same fields).
function ceilingEventOf(e: ProtoCeilingEvent | ProtoAuditEvent): CeilingEvent {
  return {
    sequence: e.sequence,
    time: e.time ?? null,
    policy: e.policy,
    key: e.key,
    count: e.count,
    limit: e.limit,
    windowMs: durationMs(e.window),
    lockedUntil: e.lockedUntil ?? null,
    permanent: e.permanent,
    rpc: e.rpc,
  };
}


class Backoff {
  readonly #initial: number;
  readonly #max: number;
  #next: number;
  constructor(options: ReconnectOptions) {
    this.#initial = options.reconnectInitialMs ?? 100;
    this.#max = options.reconnectMaxMs ?? 5000;
    this.#next = this.#initial;
  }
  reset(): void {
    this.#next = this.#initial;
  }
  /** False when aborted while waiting. */
  async wait(signal: AbortSignal | undefined): Promise<boolean> {
    const delay = this.#next;
    this.#next = Math.min(this.#next * 2, this.#max);
    try {
      await sleep(delay, undefined, signal === undefined ? {} : { signal });
      return true;
    } catch {
      return false;
    }
  }
}

// Iterates one server stream, cancelling it when the signal fires or the
// consumer stops. Throws the stream's error (a cancel by the signal ends
// quietly).
async function* iterate<T>(call: ClientReadableStream<T>, signal: AbortSignal | undefined): AsyncGenerator<T> {
  const onAbort = (): void => call.cancel();
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    // Aborted before: the listener above will never fire.
    if (aborted(signal)) return;
    for await (const message of call as AsyncIterable<T>) yield message;
  } catch (error) {
    if (signal?.aborted === true) return;
    throw error;
  } finally {
    signal?.removeEventListener("abort", onAbort);
    call.cancel();
  }
}

// A function, so that TypeScript does not narrow the flag across awaits.
function aborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}

function rethrowIfFatal(error: unknown): void {
  if (!isServiceError(error) || FATAL.has(error.code)) throw error;
}

function decisionsOf(decisions: readonly Decision[] | undefined): Verdict_Decision[] {
  return (decisions ?? []).map((d) => (d === "ALLOW" ? Verdict_Decision.ALLOW : Verdict_Decision.DENY));
}

export async function* auditStream(host: StreamHost, options: AuditStreamOptions = {}): AsyncGenerator<AuditEvent> {
  const follow = options.follow ?? true;
  const backoff = new Backoff(options);
  let next: number | undefined = options.fromSequence;
  while (!aborted(options.signal)) {
    let start: StreamRequest["start"];
    if (next !== undefined) start = { $case: "fromSequence", value: next };
    else if (options.fromNow === true) start = { $case: "fromNow", value: true };
    else start = undefined;
    const call = host.auditStub.stream(
      {
        start,
        follow,
        policies: [...(options.policies ?? [])],
        decisions: decisionsOf(options.decisions),
        ceilingOnly: options.ceilingOnly ?? false,
      },
      host.metadata(false),
    );
    try {
      for await (const event of iterate(call, options.signal)) {
        if (next !== undefined && event.sequence < next) continue;
        next = event.sequence + 1;
        backoff.reset();
        yield auditEventOf(event);
      }
      if (!follow || aborted(options.signal)) return;
    } catch (error) {
      rethrowIfFatal(error);
    }
    if (!(await backoff.wait(options.signal))) return;
  }
}

export async function* watchCeilings(host: StreamHost, options: WatchCeilingsOptions = {}): AsyncGenerator<CeilingEvent> {
  const backoff = new Backoff(options);
  const policies = [...(options.policies ?? [])];
  let last: number | undefined;
  while (!aborted(options.signal)) {
    const live = host.watchCeilingsCall(policies, host.metadata(false));
    live.once("metadata", () => options.onWatching?.());
    try {
      if (last !== undefined) {
        // Resuming: the live watch is established (its initial metadata is
        // sent once the server watches), then the crossings missed meanwhile
        // are replayed from the audit log; the overlap is skipped by sequence.
        await new Promise<void>((resolve, reject) => {
          live.once("metadata", () => resolve());
          live.once("error", reject);
          options.signal?.addEventListener("abort", () => resolve(), { once: true });
        });
        const replay = host.auditStub.stream(
          {
            start: { $case: "fromSequence", value: last + 1 },
            follow: false,
            policies,
            decisions: [],
            ceilingOnly: true,
          },
          host.metadata(false),
        );
        for await (const event of iterate(replay, options.signal)) {
          if (event.sequence <= last) continue;
          last = event.sequence;
          yield ceilingEventOf(event);
        }
      }
      for await (const event of iterate(live, options.signal)) {
        if (last !== undefined && event.sequence <= last) continue;
        last = event.sequence;
        backoff.reset();
        yield ceilingEventOf(event);
      }
      if (aborted(options.signal)) return;
    } catch (error) {
      live.cancel();
      rethrowIfFatal(error);
    }
    if (!(await backoff.wait(options.signal))) return;
  }
}
