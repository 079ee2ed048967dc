// The circuit breaker of client/circuit_breaker.h, in TypeScript: decides
// whether a call may go to a service that keeps failing, so that a dead or
// hung service costs callers nothing instead of a full deadline each.
//
// Closed: every call goes through. After `failuresBeforeCooldown`
// consecutive failures it opens for a cool-down, during which admit() fails
// fast. When the cool-down is over exactly one call (the probe) is admitted
// while the others keep failing fast; a successful probe closes the breaker,
// a failed one opens it again for twice the previous cool-down, up to
// `cooldownMaxMs`. Each cool-down is shortened by a random fraction of up to
// `jitter`. Any success closes the breaker and resets the cool-down. If the
// clock moves backwards while open, the cool-down counts as over.

/** How a call admitted by admit() ended. */
export type Outcome =
  | "success" // The service answered: closes the breaker.
  | "failure" // The service did not answer: counts towards opening it.
  | "neutral"; // Says nothing about the service (a refusal of the request).

/** Proof of admission, handed back to report(). */
export interface Ticket {
  readonly probe: boolean;
  readonly epoch: number;
}

export interface BreakerOptions {
  readonly failuresBeforeCooldown: number;
  readonly cooldownInitialMs: number;
  readonly cooldownMaxMs: number;
  readonly jitter: number;
  readonly now: () => number;
  /** Uniform in [0, 1); Math.random when absent. */
  readonly random?: () => number;
}

export interface BreakerStats {
  /** Cooling down, or waiting for the probe's outcome. */
  readonly open: boolean;
  readonly consecutiveFailures: number;
  readonly cooldowns: number;
  readonly failedFast: number;
}

/** admit()'s refusal: why, and that nothing may be sent. */
export interface Refusal {
  readonly refused: string;
}

export class CircuitBreaker {
  readonly #options: BreakerOptions;
  readonly #random: () => number;
  #open = false;
  // Bumped on every open/close, so that late reports from calls admitted
  // before it are not counted twice.
  #epoch = 0;
  #consecutiveFailures = 0;
  #cooldownsInARow = 0;
  #openedAt = 0;
  #probeAt = 0;
  #probeInFlight = false;
  #cooldowns = 0;
  #failedFast = 0;

  constructor(options: BreakerOptions) {
    this.#options = options;
    this.#random = options.random ?? Math.random;
  }

  /** A Ticket when the call may go ahead (report() its outcome once), else a Refusal. */
  admit(): Ticket | Refusal {
    if (!this.#open) return { probe: false, epoch: this.#epoch };
    const now = this.#options.now();
    const cooledDown = now >= this.#probeAt || now < this.#openedAt;
    if (cooledDown && !this.#probeInFlight) {
      this.#probeInFlight = true;
      return { probe: true, epoch: this.#epoch };
    }
    ++this.#failedFast;
    const why = `gatehouse client cooling down after ${this.#consecutiveFailures} consecutive failures; `;
    if (this.#probeInFlight) return { refused: `${why}a probe call is out` };
    return { refused: `${why}next probe in ${Math.ceil(this.#probeAt - now)}ms` };
  }

  report(ticket: Ticket, outcome: Outcome): void {
    switch (outcome) {
      case "success":
        this.#close();
        return;
      case "failure":
        if (ticket.epoch !== this.#epoch) return;
        ++this.#consecutiveFailures;
        if (ticket.probe || this.#consecutiveFailures >= this.#options.failuresBeforeCooldown) {
          this.#openNow();
        }
        return;
      case "neutral":
        // A probe that proved nothing: the next call probes instead.
        if (ticket.probe && ticket.epoch === this.#epoch) this.#probeInFlight = false;
        return;
    }
  }

  stats(): BreakerStats {
    return {
      open: this.#open,
      consecutiveFailures: this.#consecutiveFailures,
      cooldowns: this.#cooldowns,
      failedFast: this.#failedFast,
    };
  }

  #openNow(): void {
    let cooldown = this.#options.cooldownInitialMs;
    for (let i = 0; i < this.#cooldownsInARow && cooldown < this.#options.cooldownMaxMs; ++i) {
      cooldown *= 2;
    }
    cooldown = Math.min(cooldown, this.#options.cooldownMaxMs);
    // Shortened, never lengthened, so cooldownMaxMs is a real bound.
    cooldown *= 1 - this.#options.jitter * this.#random();
    ++this.#cooldownsInARow;
    ++this.#cooldowns;
    ++this.#epoch;
    this.#open = true;
    this.#probeInFlight = false;
    this.#openedAt = this.#options.now();
    this.#probeAt = this.#openedAt + cooldown;
  }

  #close(): void {
    if (this.#open) ++this.#epoch;
    this.#open = false;
    this.#probeInFlight = false;
    this.#consecutiveFailures = 0;
    this.#cooldownsInARow = 0;
  }
}

export function isRefusal(admission: Ticket | Refusal): admission is Refusal {
  return "refused" in admission;
}
