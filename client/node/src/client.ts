// GatehouseClient: the Node client of the gatehouse.v1.RateLimiter service,
// with the behaviour of the C++ gatehouse::Client (client/client.h): every
// outcome becomes an allow/deny answer the caller can act on.
//
//  - The service answered: its allowed and verdicts; degraded false.
//  - The request was refused for its values, by this client before sending
//    or by the service (INVALID_ARGUMENT): allowed false with
//    invalidRequestMode "deny" (the default), else the failure mode's
//    answer; degraded false, status says why. A value an attacker chose
//    (a user name) must never open the gate.
//  - The service refused the caller (NOT_FOUND, UNAUTHENTICATED,
//    PERMISSION_DENIED): the failure mode's answer, degraded false, status
//    says why: a misconfiguration to alert on.
//  - Anything else (UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ...):
//    the failure mode's answer, degraded true.
//  - After failuresBeforeCooldown consecutive degraded calls, calls fail
//    fast (failFast true, attempts 0, UNAVAILABLE) for a cool-down, then one
//    probe goes through (and waits for a connection up to its deadline).
//    Refusals never count towards this: they say nothing about the service.
//  - Peek is re-sent after UNAVAILABLE (peekRetries) within its deadline;
//    check, record and reset never are, since they count.

import {
  type ClientReadableStream,
  type ChannelCredentials,
  type ClientOptions as GrpcChannelOptions,
  credentials as grpcCredentials,
  Metadata,
  type ServiceError,
  status as Code,
} from "@grpc/grpc-js";
import { CircuitBreaker, isRefusal, type Outcome as BreakerOutcome } from "./circuit-breaker.js";
import { BatchStreams } from "./batch-stream.js";
import { type BatchAnswer, Coalescer, MAX_BATCH_ITEMS, MAX_BATCH_SUBJECTS, type Outcome } from "./coalescer.js";
import {
  BatchResponse,
  type CheckRequest as ProtoRequest,
  RateLimiterClient,
  RateLimiterService,
  type Verdict as ProtoVerdict,
} from "./gen/gatehouse/v1/ratelimit.js";
import { AuditClient } from "./gen/gatehouse/v1/audit.js";
import type { CeilingEvent as ProtoCeilingEvent } from "./gen/gatehouse/v1/ratelimit.js";
import { type GatehouseClientOptions, type ResolvedOptions, resolveOptions } from "./options.js";
import {
  type AuditEvent,
  type AuditStreamOptions,
  auditStream,
  type CeilingEvent,
  type StreamHost,
  watchCeilings,
  type WatchCeilingsOptions,
} from "./streams.js";
import {
  type BatchEntry,
  type CallOptions,
  callStatus,
  type Operation,
  type Request,
  type Result,
  verdictFromProto,
} from "./types.js";
import { validateRequest } from "./validate.js";
import { encodeBatchItem, encodeBatchRequest } from "./wire.js";

/** Counters since construction, for the caller's metrics. */
export interface ClientStats {
  /** Calls answered without an RPC (cooling down). */
  readonly failedFast: number;
  /** Cool-downs started. */
  readonly cooldowns: number;
  /** RPCs re-sent after UNAVAILABLE (Peek only). */
  readonly retries: number;
  /** Calls refused for their values before sending. */
  readonly invalidRequests: number;
  /** Whether calls currently fail fast. */
  readonly coolingDown: boolean;
}

// Refusals of the request itself: the service is healthy.
const REFUSALS: ReadonlySet<number> = new Set([
  Code.INVALID_ARGUMENT,
  Code.NOT_FOUND,
  Code.UNAUTHENTICATED,
  Code.PERMISSION_DENIED,
]);

function breakerOutcome(code: number): BreakerOutcome {
  if (code === Code.OK) return "success";
  return REFUSALS.has(code) ? "neutral" : "failure";
}

function toProto(request: Request): ProtoRequest {
  return {
    subjects: request.subjects.map((subject) => ({
      policy: subject.policy,
      key: { ...subject.key },
      hits: subject.hits ?? 0,
    })),
    context: { ...(request.context ?? {}) },
  };
}

function channelCredentials(options: ResolvedOptions): ChannelCredentials {
  if (options.tls === null) return grpcCredentials.createInsecure();
  const pem = (value: string | Buffer | undefined): Buffer | null =>
    value === undefined ? null : Buffer.isBuffer(value) ? value : Buffer.from(value);
  return grpcCredentials.createSsl(pem(options.tls.ca), pem(options.tls.key), pem(options.tls.cert));
}

export class GatehouseClient {
  readonly #options: ResolvedOptions;
  readonly #stub: RateLimiterClient;
  #auditStub: AuditClient | null = null;
  readonly #breaker: CircuitBreaker;
  readonly #coalescer: Coalescer | null;
  readonly #batchStreams: BatchStreams | null;
  #retries = 0;
  #invalidRequests = 0;
  #closed = false;

  /** Throws a TypeError naming the option when an option is invalid. Does not connect. */
  constructor(options: GatehouseClientOptions) {
    this.#options = resolveOptions(options);
    const channelOptions: Partial<GrpcChannelOptions> = {
      "grpc.max_reconnect_backoff_ms": this.#options.maxReconnectBackoffMs,
      "grpc.initial_reconnect_backoff_ms": Math.min(100, this.#options.maxReconnectBackoffMs),
    };
    if (this.#options.tls?.serverName !== undefined) {
      channelOptions["grpc.ssl_target_name_override"] = this.#options.tls.serverName;
      channelOptions["grpc.default_authority"] = this.#options.tls.serverName;
    }
    this.#stub = new RateLimiterClient(this.#options.address, channelCredentials(this.#options), channelOptions);
    this.#breaker = new CircuitBreaker({
      failuresBeforeCooldown: this.#options.failuresBeforeCooldown,
      cooldownInitialMs: this.#options.cooldownInitialMs,
      cooldownMaxMs: this.#options.cooldownMaxMs,
      jitter: this.#options.cooldownJitter,
      now: this.#options.now,
    });
    const coalesce = this.#options.coalesce;
    const sendBatch = (items: Uint8Array[], deadlineAt: number, waitForReady: boolean): Promise<BatchAnswer> =>
      this.#sendBatch(items, deadlineAt, waitForReady);
    this.#batchStreams =
      coalesce === null || coalesce.streams === 0
        ? null
        : new BatchStreams(this.#stub, (waitForReady) => this.metadata(waitForReady), coalesce.streams, sendBatch);
    this.#coalescer =
      coalesce === null
        ? null
        : new Coalescer(this.#batchStreams?.send ?? sendBatch, coalesce.lingerMs, coalesce.maxBatch);
  }

  /** Evaluates the subjects and counts their hits only when all allow. */
  check(request: Request, options?: CallOptions): Promise<Result> {
    return this.#call("check", request, options);
  }

  /** The answer check would give, without counting anything. */
  peek(request: Request, options?: CallOptions): Promise<Result> {
    return this.#call("peek", request, options);
  }

  /** Counts hits that already happened; verdicts say whether the next attempt would be allowed. */
  record(request: Request, options?: CallOptions): Promise<Result> {
    return this.#call("record", request, options);
  }

  /** Clears the subjects' counters and lockouts. */
  reset(request: Request, options?: CallOptions): Promise<Result> {
    return this.#call("reset", request, options);
  }

  /**
   * Several independent operations in one Batch RPC, as if made one after
   * another; one Result per entry, in order, judged as its unary call would
   * be. At most 256 entries and 1024 subjects in all (a RangeError otherwise).
   */
  async batch(entries: readonly BatchEntry[], options?: CallOptions): Promise<Result[]> {
    this.#checkOpen();
    if (entries.length > MAX_BATCH_ITEMS) {
      throw new RangeError(`batch: ${entries.length} entries, at most ${MAX_BATCH_ITEMS}`);
    }
    const results: (Result | undefined)[] = entries.map((entry) => {
      const invalid = validateRequest(entry.request);
      return invalid === null ? undefined : this.#invalid(invalid);
    });
    const sendable = entries
      .map((entry, index) => ({ entry, index }))
      .filter(({ index }) => results[index] === undefined);
    const subjects = sendable.reduce((sum, { entry }) => sum + entry.request.subjects.length, 0);
    if (subjects > MAX_BATCH_SUBJECTS) {
      throw new RangeError(`batch: ${subjects} subjects in all, at most ${MAX_BATCH_SUBJECTS}`);
    }
    if (sendable.length > 0) {
      const deadlineMs = options?.deadlineMs ?? this.#options.deadlineMs;
      let answers: Result[];
      if (!(deadlineMs > 0)) {
        answers = sendable.map(() => this.#nonPositiveDeadline(deadlineMs));
      } else {
        answers = await this.#sendEntries(
          sendable.map(({ entry }) => entry),
          Date.now() + deadlineMs,
        );
      }
      sendable.forEach(({ index }, i) => {
        results[index] = answers[i];
      });
    }
    return results.map((result) => {
      if (result === undefined) throw new Error("batch: an entry got no result");
      return result;
    });
  }

  /**
   * The audit trail (Audit.Stream) as an async iterator that reconnects and
   * resumes after the last sequence delivered: each event once, in order.
   */
  auditStream(options?: AuditStreamOptions): AsyncGenerator<AuditEvent> {
    this.#checkOpen();
    return auditStream(this.#streamHost(), options);
  }

  /**
   * Ceiling events (RateLimiter.WatchCeilings) as an async iterator. After
   * a reconnect, the crossings missed meanwhile are replayed from the audit
   * log, so that each is delivered once (from the first event seen on).
   */
  watchCeilings(options?: WatchCeilingsOptions): AsyncGenerator<CeilingEvent> {
    this.#checkOpen();
    return watchCeilings(this.#streamHost(), options);
  }

  #streamHost(): StreamHost {
    // The Audit service over the same channel.
    this.#auditStub ??= new AuditClient(this.#options.address, channelCredentials(this.#options), {
      channelOverride: this.#stub.getChannel(),
    });
    const auditStub = this.#auditStub;
    return {
      auditStub,
      metadata: (waitForReady) => this.metadata(waitForReady),
      watchCeilingsCall: (policies, metadata): ClientReadableStream<ProtoCeilingEvent> =>
        this.#stub.watchCeilings({ policies: [...policies] }, metadata),
    };
  }

  stats(): ClientStats {
    const breaker = this.#breaker.stats();
    return {
      failedFast: breaker.failedFast,
      cooldowns: breaker.cooldowns,
      retries: this.#retries,
      invalidRequests: this.#invalidRequests,
      coolingDown: breaker.open,
    };
  }

  /** Sends what is queued, waits for calls in flight and closes the channel. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#coalescer?.drain();
    this.#batchStreams?.close();
    this.#stub.close();
  }

  /** The channel's target and credentials, for the stream helpers. */
  get resolvedOptions(): ResolvedOptions {
    return this.#options;
  }

  /** Metadata of one call: the token, and whether to wait for a connection. */
  metadata(waitForReady: boolean): Metadata {
    const metadata = new Metadata({ waitForReady });
    if (this.#options.token !== "") metadata.set("authorization", `Bearer ${this.#options.token}`);
    return metadata;
  }

  #checkOpen(): void {
    if (this.#closed) throw new Error("GatehouseClient: used after close()");
  }

  async #call(op: Operation, request: Request, options: CallOptions | undefined): Promise<Result> {
    this.#checkOpen();
    const invalid = validateRequest(request);
    if (invalid !== null) return this.#invalid(invalid);
    const deadlineMs = options?.deadlineMs ?? this.#options.deadlineMs;
    if (!(deadlineMs > 0)) return this.#nonPositiveDeadline(deadlineMs);
    const deadlineAt = Date.now() + deadlineMs;
    // Coalesced calls go as encoded BatchItems, others as unary RPCs.
    const coalescer = this.#coalescer;
    let send: (waitForReady: boolean) => Promise<Outcome>;
    if (coalescer !== null) {
      const item = encodeBatchItem(op, request);
      const subjects = request.subjects.length;
      send = (waitForReady) => coalescer.submit(item, subjects, deadlineAt, waitForReady);
    } else {
      const proto = toProto(request);
      send = (waitForReady) => this.#sendUnary(op, proto, deadlineAt, waitForReady);
    }
    const retries = op === "peek" ? this.#options.peekRetries : 0;
    let outcome: Outcome | undefined;
    let attempts = 0;
    for (let attempt = 0; ; ++attempt) {
      const admission = this.#breaker.admit();
      if (isRefusal(admission)) {
        // A retry refused by the breaker keeps the answer it already has.
        if (outcome !== undefined) break;
        return this.#failed(Code.UNAVAILABLE, admission.refused, { failFast: true });
      }
      outcome = await send(admission.probe);
      ++attempts;
      this.#breaker.report(admission, breakerOutcome(outcome.code));
      if (attempt === retries || outcome.code !== Code.UNAVAILABLE || Date.now() >= deadlineAt) break;
      ++this.#retries;
    }
    return this.#resultOf(outcome, attempts);
  }

  #sendUnary(op: Operation, proto: ProtoRequest, deadlineAt: number, waitForReady: boolean): Promise<Outcome> {
    return new Promise<Outcome>((resolve) => {
      const callback = (
        error: ServiceError | null,
        response: { allowed: boolean; verdicts: ProtoVerdict[] },
      ): void => {
        if (error !== null) resolve({ code: error.code, message: error.details });
        else resolve({ code: Code.OK, message: "", response });
      };
      const metadata = this.metadata(waitForReady);
      const callOptions = { deadline: new Date(deadlineAt) };
      switch (op) {
        case "check":
          this.#stub.check(proto, metadata, callOptions, callback);
          return;
        case "peek":
          this.#stub.peek(proto, metadata, callOptions, callback);
          return;
        case "record":
          this.#stub.record(proto, metadata, callOptions, callback);
          return;
        case "reset":
          this.#stub.reset(proto, metadata, callOptions, callback);
          return;
      }
    });
  }

  // One Batch RPC of encoded BatchItems (wire.ts), sent as they are.
  #sendBatch(items: Uint8Array[], deadlineAt: number, waitForReady: boolean): Promise<BatchAnswer> {
    return new Promise((resolve) => {
      this.#stub.makeUnaryRequest(
        RateLimiterService.batch.path,
        (request: Buffer) => request,
        (response: Buffer) => BatchResponse.decode(response),
        encodeBatchRequest(items),
        this.metadata(waitForReady),
        { deadline: new Date(deadlineAt) },
        (error: ServiceError | null, response?: BatchResponse) => {
          if (error !== null) resolve({ code: error.code, message: error.details });
          else resolve({ code: Code.OK, message: "", response });
        },
      );
    });
  }

  // One Batch RPC for entries already validated, through the breaker as one call.
  async #sendEntries(entries: readonly BatchEntry[], deadlineAt: number): Promise<Result[]> {
    const admission = this.#breaker.admit();
    if (isRefusal(admission)) {
      return entries.map(() => this.#failed(Code.UNAVAILABLE, admission.refused, { failFast: true }));
    }
    const answer = await this.#sendBatch(
      entries.map((entry) => encodeBatchItem(entry.op, entry.request)),
      deadlineAt,
      admission.probe,
    );
    this.#breaker.report(admission, breakerOutcome(answer.code));
    const results = answer.response?.results ?? [];
    if (answer.code !== Code.OK) {
      return entries.map(() => this.#resultOf({ code: answer.code, message: answer.message }, 1));
    }
    return entries.map((_, i) => {
      const result = results[i];
      const code = result?.status?.code ?? Code.INTERNAL;
      if (code !== Code.OK || result?.response === undefined) {
        return this.#resultOf({ code: code === Code.OK ? Code.INTERNAL : code, message: result?.status?.message ?? "missing result" }, 1);
      }
      return this.#resultOf({ code, message: "", response: result.response.value }, 1);
    });
  }

  #resultOf(outcome: Outcome, attempts: number): Result {
    if (outcome.code === Code.OK && outcome.response !== undefined) {
      return {
        allowed: outcome.response.allowed,
        verdicts: outcome.response.verdicts.map(verdictFromProto),
        degraded: false,
        failFast: false,
        attempts,
      };
    }
    return this.#failed(outcome.code, outcome.message, { attempts });
  }

  #invalid(message: string): Result {
    ++this.#invalidRequests;
    return this.#failed(Code.INVALID_ARGUMENT, message, {});
  }

  #nonPositiveDeadline(deadlineMs: number): Result {
    // The caller's doing: sent nowhere, so not held against the service.
    return {
      allowed: this.#failureModeAllows(),
      verdicts: [],
      degraded: false,
      status: callStatus(Code.DEADLINE_EXCEEDED, `non-positive deadline ${deadlineMs}ms`),
      failFast: false,
      attempts: 0,
    };
  }

  #failureModeAllows(): boolean {
    return this.#options.failureMode === "open";
  }

  #failed(code: number, message: string, extra: { failFast?: boolean; attempts?: number }): Result {
    const allowed =
      code === Code.INVALID_ARGUMENT && this.#options.invalidRequestMode === "deny"
        ? false
        : this.#failureModeAllows();
    return {
      allowed,
      verdicts: [],
      degraded: !REFUSALS.has(code),
      status: callStatus(code, message),
      failFast: extra.failFast ?? false,
      attempts: extra.attempts ?? 0,
    };
  }
}
