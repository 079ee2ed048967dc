// Coalesced batches over long-lived RateLimiter.BatchStream calls: an RPC's
// set-up (hundreds of microseconds of Node CPU in grpc-js and http2) is paid
// once per stream instead of once per batch. The service answers a
// stream's messages one after another, in the order sent, so each stream
// keeps a FIFO of the batches waiting for their answers.
//
//  - A batch goes on the open stream with the fewest batches waiting. A new
//    stream is opened (up to `streams`) only when every open one has
//    QUEUE_PER_STREAM batches waiting: one stream with its next batch
//    queued keeps the service busy at less cost than two side by side
//    (bench/RESULTS.md), and more streams let a service with cores to
//    spare decide more at once when it falls behind.
//  - A stream that ends fails every batch still waiting on it with its
//    status, judged as a unary call's would be (a service that ends a
//    stream has answered all it decided; a broken connection may, as for
//    unary calls, leave a counted batch unanswered); the next batch opens
//    a new stream.
//  - A stream whose oldest batch is past its deadline is cancelled: its
//    batches fail DEADLINE_EXCEEDED, as unary calls would, and later
//    batches go on a fresh stream rather than behind a hung one.
//  - A service without BatchStream (UNIMPLEMENTED) gets its batches, and
//    all later ones, as Batch RPCs through `fallback`: it decided none.
//  - A stream with nothing waiting for IDLE_MS is ended: an open call holds
//    Node's event loop, and a process that made a few calls without
//    close() must still exit.

import { type Client, type ClientDuplexStream, type Metadata, type ServiceError, status as Code } from "@grpc/grpc-js";
import type { BatchAnswer, SendBatch } from "./coalescer.js";
import { BatchResponse, RateLimiterService } from "./gen/gatehouse/v1/ratelimit.js";
import { encodeBatchRequest } from "./wire.js";

interface Waiting {
  readonly items: Uint8Array[];
  readonly deadlineAt: number;
  readonly waitForReady: boolean;
  readonly resolve: (answer: BatchAnswer) => void;
}

interface Stream {
  readonly call: ClientDuplexStream<Buffer, BatchResponse>;
  // Sent and not yet answered, oldest first.
  readonly waiting: Waiting[];
  // When the last answer came (or the stream opened), ms since the epoch.
  lastAnswerAt: number;
  // Fires at the oldest batch's deadline, or IDLE_MS after the last answer
  // when nothing waits; re-armed for whichever is next. Runs while the
  // stream does: no timer is set per batch.
  timer: NodeJS.Timeout | undefined;
  ended: boolean;
}

/** Batches waiting on every open stream before another is opened. */
export const QUEUE_PER_STREAM = 2;

/** How long a stream with nothing waiting stays open. */
export const IDLE_MS = 1000;

const identity = (bytes: Buffer): Buffer => bytes;

export class BatchStreams {
  readonly #stub: Client;
  readonly #metadata: (waitForReady: boolean) => Metadata;
  readonly #fallback: SendBatch;
  readonly #max: number;
  readonly #open: Stream[] = [];
  #unimplemented = false;

  /**
   * Batches over up to `streams` (>= 1) BatchStream calls of `stub`, each
   * opened with `metadata`; `fallback` sends a batch as a Batch RPC.
   */
  constructor(
    stub: Client,
    metadata: (waitForReady: boolean) => Metadata,
    streams: number,
    fallback: SendBatch,
  ) {
    this.#stub = stub;
    this.#metadata = metadata;
    this.#max = streams;
    this.#fallback = fallback;
  }

  /** A SendBatch: the batch's answer, or the status that ended its stream. */
  readonly send: SendBatch = (items, deadlineAt, waitForReady) => {
    if (this.#unimplemented) return this.#fallback(items, deadlineAt, waitForReady);
    return new Promise<BatchAnswer>((resolve) => {
      const stream = this.#pick(waitForReady);
      stream.waiting.push({ items, deadlineAt, waitForReady, resolve });
      stream.call.write(encodeBatchRequest(items));
    });
  };

  /** Half-closes every stream: the service ends each once it has answered. */
  close(): void {
    for (const stream of [...this.#open]) this.#retire(stream);
  }

  #pick(waitForReady: boolean): Stream {
    let best: Stream | undefined;
    for (const stream of this.#open) {
      if (best === undefined || stream.waiting.length < best.waiting.length) best = stream;
    }
    if (best !== undefined && (best.waiting.length < QUEUE_PER_STREAM || this.#open.length >= this.#max)) {
      return best;
    }
    return this.#start(waitForReady);
  }

  // A stream opened by a probe waits for a connection (up to the probe's
  // deadline, by the timer); others fail fast when there is none.
  #start(waitForReady: boolean): Stream {
    const call = this.#stub.makeBidiStreamRequest(
      RateLimiterService.batchStream.path,
      identity,
      (response: Buffer) => BatchResponse.decode(response),
      this.#metadata(waitForReady),
    );
    const stream: Stream = { call, waiting: [], lastAnswerAt: Date.now(), timer: undefined, ended: false };
    call.on("data", (response: BatchResponse) => {
      const answered = stream.waiting.shift();
      if (answered === undefined) {
        if (!stream.ended) stream.call.cancel();
        this.#end(stream, Code.INTERNAL, "BatchStream answered a batch never sent");
        return;
      }
      stream.lastAnswerAt = Date.now();
      answered.resolve({ code: Code.OK, message: "", response });
    });
    call.on("error", (error: ServiceError) => this.#end(stream, error.code, error.details));
    // OK only after close(), with nothing waiting; errors come as "error".
    call.on("status", () => this.#end(stream, Code.INTERNAL, "BatchStream ended before answering"));
    this.#open.push(stream);
    this.#arm(stream, IDLE_MS);
    return stream;
  }

  // At the oldest batch's deadline the stream is hung or too slow, and
  // everything behind it would miss its deadline too: it is cancelled. A
  // stream idle for IDLE_MS is half-closed (the service then ends it).
  #arm(stream: Stream, delayMs: number): void {
    stream.timer = setTimeout(() => {
      const now = Date.now();
      const oldest = stream.waiting[0];
      if (oldest !== undefined && oldest.deadlineAt <= now) {
        stream.call.cancel();
        this.#end(stream, Code.DEADLINE_EXCEEDED, "Deadline exceeded");
      } else if (oldest === undefined && now - stream.lastAnswerAt >= IDLE_MS) {
        this.#retire(stream);
      } else {
        this.#arm(stream, oldest !== undefined ? oldest.deadlineAt - now : stream.lastAnswerAt + IDLE_MS - now);
      }
    }, Math.max(0, delayMs));
    stream.timer.unref();
  }

  // Takes `stream`, with nothing waiting, out of use and half-closes it.
  #retire(stream: Stream): void {
    this.#end(stream, Code.OK, "");
    stream.call.end();
  }

  // Ends `stream` once (later events are ignored): its waiting batches get
  // `code`, or go as Batch RPCs when the service has no BatchStream.
  #end(stream: Stream, code: number, message: string): void {
    if (stream.ended) return;
    stream.ended = true;
    if (stream.timer !== undefined) clearTimeout(stream.timer);
    stream.timer = undefined;
    const index = this.#open.indexOf(stream);
    if (index >= 0) this.#open.splice(index, 1);
    const waiting = stream.waiting.splice(0);
    if (code === Code.UNIMPLEMENTED) {
      this.#unimplemented = true;
      for (const batch of waiting) {
        void this.#fallback(batch.items, batch.deadlineAt, batch.waitForReady).then(batch.resolve);
      }
      return;
    }
    for (const batch of waiting) batch.resolve({ code, message });
  }
}
