// The sign-in flow of the project README as three calls:
//
//   before verifying a password:   Peek  failuresPolicy {user, ip}
//                                  Check attemptsPolicy {ip}
//   on failure:                    Record failuresPolicy {user, ip}
//   on success:                    Reset failuresPolicy {user, ip}
//
// Failures are keyed on user and IP, so an attacker elsewhere cannot lock a
// real user out of their own network; the per-IP policy catches the
// attacker. With coalescing on, the Peek and the Check of one sign-in go in
// the same Batch.

import type { GatehouseClient } from "./client.js";
import type { CallOptions, Result } from "./types.js";

export interface SignInGuardOptions {
  readonly client: GatehouseClient;
  /** Policy with dimensions [user, ip] counting failed sign-ins; default "failed_auth_user_ip". */
  readonly failuresPolicy?: string;
  /** Policy with dimension [ip] counting attempts; default "login_ip". */
  readonly attemptsPolicy?: string;
  /** Sent as the audit context of every call, e.g. {route: "/login"}. */
  readonly context?: Readonly<Record<string, string>>;
}

export interface SignInAttempt {
  /** The user name or e-mail as typed (any string: it is validated, never trusted). */
  readonly user: string;
  /** The client's IP address. */
  readonly ip: string;
}

export interface SignInDecision {
  /** Whether to verify the password now. */
  readonly proceed: boolean;
  /** When not proceeding: how long to wait before the next attempt, ms (0 when unknown). */
  readonly retryAfterMs: number;
  /** The service did not answer; proceed is the failure mode's answer. */
  readonly degraded: boolean;
  /** The underlying answers, for logging. */
  readonly results: readonly Result[];
}

function decide(results: readonly Result[]): SignInDecision {
  const proceed = results.every((result) => result.allowed);
  let retryAfterMs = 0;
  if (!proceed) {
    for (const result of results) {
      for (const verdict of result.verdicts) {
        if (verdict.decision === "DENY") retryAfterMs = Math.max(retryAfterMs, verdict.retryAfterMs);
      }
    }
  }
  return {
    proceed,
    retryAfterMs,
    degraded: results.some((result) => result.degraded),
    results,
  };
}

export class SignInGuard {
  readonly #client: GatehouseClient;
  readonly #failuresPolicy: string;
  readonly #attemptsPolicy: string;
  readonly #context: Readonly<Record<string, string>> | undefined;

  constructor(options: SignInGuardOptions) {
    this.#client = options.client;
    this.#failuresPolicy = options.failuresPolicy ?? "failed_auth_user_ip";
    this.#attemptsPolicy = options.attemptsPolicy ?? "login_ip";
    this.#context = options.context;
  }

  /**
   * Before verifying the password: whether to go on. The user's failures
   * are only read (Peek); the IP's attempt is counted (Check). A sign-in
   * refused here must not verify the password (nor Record anything).
   */
  async before(attempt: SignInAttempt, options?: CallOptions): Promise<SignInDecision> {
    const [failures, attempts] = await Promise.all([
      this.#client.peek(this.#request(this.#failuresPolicy, { user: attempt.user, ip: attempt.ip }), options),
      this.#client.check(this.#request(this.#attemptsPolicy, { ip: attempt.ip }), options),
    ]);
    return decide([failures, attempts]);
  }

  /**
   * After a wrong password: counts the failure. proceed says whether the
   * next attempt would be allowed, retryAfterMs how long it would wait.
   */
  async failed(attempt: SignInAttempt, options?: CallOptions): Promise<SignInDecision> {
    const result = await this.#client.record(
      this.#request(this.#failuresPolicy, { user: attempt.user, ip: attempt.ip }),
      options,
    );
    return decide([result]);
  }

  /** After a correct password: clears the user's failures from this IP. */
  async succeeded(attempt: SignInAttempt, options?: CallOptions): Promise<Result> {
    return this.#client.reset(
      this.#request(this.#failuresPolicy, { user: attempt.user, ip: attempt.ip }),
      options,
    );
  }

  #request(policy: string, key: Record<string, string>): { subjects: { policy: string; key: Record<string, string> }[]; context?: Readonly<Record<string, string>> } {
    return this.#context === undefined
      ? { subjects: [{ policy, key }] }
      : { subjects: [{ policy, key }], context: this.#context };
  }
}
