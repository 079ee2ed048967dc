// Expires calls at their deadlines with one timer for all of them. A timer
// per call cost every coalesced call a Timeout object set and cleared
// (about a twentieth of the client's CPU under load); calls made with the
// same deadlineMs expire in the order they were made, so a queue in that
// order needs a timer only for its front. The timer is not moved when the
// front settles: when it fires early, it is set again for the new front.

/** A call waiting for its outcome. */
export interface Expiring {
  /** ms since the epoch. */
  readonly deadlineAt: number;
  /** Set once the call has its outcome. */
  readonly done: boolean;
  /** Its own timer, when it expires out of order. */
  timer: NodeJS.Timeout | undefined;
}

export class DeadlineQueue<T extends Expiring> {
  readonly #expire: (item: T) => void;
  // Calls in the order added, from #head on; settled ones are dropped from
  // the front as they reach it.
  #items: (T | undefined)[] = [];
  #head = 0;
  #timer: NodeJS.Timeout | undefined;

  /** `expire` is called once for each call whose deadline passes before it is done. */
  constructor(expire: (item: T) => void) {
    this.#expire = expire;
  }

  /** Calls, done or not, still held (for tests). */
  get size(): number {
    return this.#items.length - this.#head;
  }

  add(item: T): void {
    const last = this.#items.length > this.#head ? this.#items[this.#items.length - 1] : undefined;
    if (last !== undefined && item.deadlineAt < last.deadlineAt) {
      // Sooner than a call before it: it cannot wait behind that one.
      item.timer = setTimeout(() => this.#expire(item), Math.max(0, item.deadlineAt - Date.now()));
      return;
    }
    this.#items.push(item);
    if (this.#timer === undefined) this.#arm(item.deadlineAt);
  }

  /** To be called when a call is done: drops the done calls at the front. */
  settled(): void {
    while (this.#head < this.#items.length && this.#items[this.#head]?.done === true) {
      this.#items[this.#head++] = undefined;
    }
    this.#compact();
    if (this.#head === this.#items.length && this.#timer !== undefined) {
      // Nothing left to expire: no timer holds the process open.
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
  }

  #arm(deadlineAt: number): void {
    this.#timer = setTimeout(() => this.#fire(), Math.max(0, deadlineAt - Date.now()));
  }

  #fire(): void {
    this.#timer = undefined;
    const now = Date.now();
    const expired: T[] = [];
    while (this.#head < this.#items.length) {
      const item = this.#items[this.#head];
      if (item !== undefined && !item.done) {
        if (item.deadlineAt > now) break;
        expired.push(item);
      }
      this.#items[this.#head++] = undefined;
    }
    this.#compact();
    const front = this.#items[this.#head];
    if (front !== undefined) this.#arm(front.deadlineAt);
    // Last: expiring settles calls, which calls settled() on this queue.
    for (const item of expired) this.#expire(item);
  }

  #compact(): void {
    if (this.#head === this.#items.length) {
      this.#items = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
  }
}
