// Turns concurrent check / peek / record / reset calls into Batch RPCs, as
// client/coalescer.h does for C++ threads: each call becomes one item of the
// next batch, sent once the oldest queued item has lingered `lingerMs` (0:
// at the end of this turn of the event loop) or `maxBatch` items are queued
// (or the service's limits on subjects and size would be exceeded). Each
// caller gets exactly what its unary RPC would have returned: its response,
// its item's own error status, or the Batch RPC's error. A caller whose
// deadline passes first gets DEADLINE_EXCEEDED at its deadline, even while
// its batch is in flight (its item is dropped if not yet sent). Several
// batches may be in flight at once.

import { status as Code } from "@grpc/grpc-js";
import { DeadlineQueue } from "./deadlines.js";
import type { BatchResponse } from "./gen/gatehouse/v1/ratelimit.js";
import type { Verdict as ProtoVerdict } from "./gen/gatehouse/v1/ratelimit.js";

/** The service's limits on one batch (see BatchRequest in ratelimit.proto). */
export const MAX_BATCH_ITEMS = 256;
export const MAX_BATCH_SUBJECTS = 1024;
/** Well under the service's 1 MiB message limit. */
export const MAX_BATCH_BYTES = 512 * 1024;

/** What one call got: OK with its response, or an error status. */
export interface Outcome {
  readonly code: number;
  readonly message: string;
  readonly response?: { readonly allowed: boolean; readonly verdicts: readonly ProtoVerdict[] };
}

/** How one batch fared: OK with its response, or the call's error status. */
export interface BatchAnswer {
  readonly code: number;
  readonly message: string;
  readonly response?: BatchResponse;
}

/**
 * Sends one batch of encoded BatchItems (wire.ts), as a Batch RPC or on a
 * BatchStream; resolves to its answer and never rejects: errors are answers.
 */
export type SendBatch = (items: Uint8Array[], deadlineAt: number, waitForReady: boolean) => Promise<BatchAnswer>;

interface Pending {
  readonly item: Uint8Array;
  readonly subjects: number;
  readonly deadlineAt: number;
  readonly waitForReady: boolean;
  readonly resolve: (outcome: Outcome) => void;
  timer: NodeJS.Timeout | undefined;
  done: boolean;
}

const DEADLINE_EXCEEDED: Outcome = { code: Code.DEADLINE_EXCEEDED, message: "Deadline exceeded" };

export class Coalescer {
  readonly #send: SendBatch;
  readonly #lingerMs: number;
  readonly #maxBatch: number;
  #queue: Pending[] = [];
  #queuedSubjects = 0;
  #queuedBytes = 0;
  #flushScheduled: NodeJS.Immediate | NodeJS.Timeout | undefined;
  readonly #inFlight = new Set<Promise<void>>();
  readonly #deadlines = new DeadlineQueue<Pending>((pending) => this.#settle(pending, DEADLINE_EXCEEDED));

  constructor(send: SendBatch, lingerMs: number, maxBatch: number) {
    this.#send = send;
    this.#lingerMs = lingerMs;
    this.#maxBatch = Math.min(maxBatch, MAX_BATCH_ITEMS);
  }

  /**
   * Queues `item` (an encoded BatchItem of `subjects` subjects); resolves
   * to its outcome by `deadlineAt` (ms since the epoch).
   */
  submit(
    item: Uint8Array,
    subjects: number,
    deadlineAt: number,
    waitForReady: boolean,
  ): Promise<Outcome> {
    return new Promise<Outcome>((resolve) => {
      const pending: Pending = {
        item,
        subjects,
        deadlineAt,
        waitForReady,
        resolve,
        timer: undefined,
        done: false,
      };
      this.#deadlines.add(pending);
      // An item that would take the queued batch over the service's limits
      // goes in the next one.
      if (
        this.#queue.length > 0 &&
        (this.#queuedSubjects + subjects > MAX_BATCH_SUBJECTS ||
          this.#queuedBytes + item.length > MAX_BATCH_BYTES)
      ) {
        this.#flush();
      }
      this.#queue.push(pending);
      this.#queuedSubjects += subjects;
      this.#queuedBytes += item.length;
      if (this.#queue.length >= this.#maxBatch) {
        this.#flush();
      } else if (this.#flushScheduled === undefined) {
        this.#flushScheduled =
          this.#lingerMs > 0
            ? setTimeout(() => this.#flush(), this.#lingerMs)
            : setImmediate(() => this.#flush());
      }
    });
  }

  /** Sends what is queued and resolves once every batch in flight is answered. */
  async drain(): Promise<void> {
    this.#flush();
    await Promise.all([...this.#inFlight]);
  }

  #flush(): void {
    if (this.#flushScheduled !== undefined) {
      clearTimeout(this.#flushScheduled as NodeJS.Timeout);
      clearImmediate(this.#flushScheduled as NodeJS.Immediate);
      this.#flushScheduled = undefined;
    }
    // Items whose callers gave up are dropped, never sent.
    const batch = this.#queue.filter((pending) => !pending.done);
    this.#queue = [];
    this.#queuedSubjects = 0;
    this.#queuedBytes = 0;
    if (batch.length === 0) return;
    const deadlineAt = Math.max(...batch.map((pending) => pending.deadlineAt));
    const waitForReady = batch.some((pending) => pending.waitForReady);
    const sent = this.#send(
      batch.map((pending) => pending.item),
      deadlineAt,
      waitForReady,
    ).then((answer) => this.#deliver(batch, answer));
    this.#inFlight.add(sent);
    void sent.finally(() => this.#inFlight.delete(sent));
  }

  #settle(pending: Pending, outcome: Outcome): void {
    if (pending.done) return;
    pending.done = true;
    if (pending.timer !== undefined) clearTimeout(pending.timer);
    pending.resolve(outcome);
    this.#deadlines.settled();
  }

  #deliver(batch: readonly Pending[], answer: BatchAnswer): void {
    const results = answer.response?.results ?? [];
    if (answer.code !== Code.OK || results.length !== batch.length) {
      const outcome: Outcome =
        answer.code !== Code.OK
          ? { code: answer.code, message: answer.message }
          : {
              code: Code.INTERNAL,
              message: `Batch answered ${results.length} results for ${batch.length} items`,
            };
      for (const pending of batch) this.#settle(pending, outcome);
      return;
    }
    batch.forEach((pending, i) => {
      const result = results[i];
      const code = result?.status?.code ?? Code.OK;
      if (code !== Code.OK || result?.response === undefined) {
        this.#settle(pending, {
          code: code === Code.OK ? Code.INTERNAL : code,
          message: result?.status?.message ?? "Batch item without a response",
        });
        return;
      }
      this.#settle(pending, { code: Code.OK, message: "", response: result.response.value });
    });
  }
}
