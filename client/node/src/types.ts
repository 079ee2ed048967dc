// The public request and result types, and their conversion from the
// generated protobuf messages.

import { status as Code } from "@grpc/grpc-js";
import type { Duration } from "./gen/google/protobuf/duration.js";
import {
  type Verdict as ProtoVerdict,
  Verdict_Decision,
  Verdict_Reason,
} from "./gen/gatehouse/v1/ratelimit.js";

/** One thing to rate-limit: a configured policy and its dimensions' values. */
export interface Subject {
  readonly policy: string;
  /** Every dimension of the policy, e.g. {ip: "203.0.113.7", user: "alice@example.com"}. */
  readonly key: Readonly<Record<string, string>>;
  /** Hits to count, 1..1,000,000; default 1. */
  readonly hits?: number;
}

export interface Request {
  /** 1..64 subjects. */
  readonly subjects: readonly Subject[];
  /** Small free-form context kept for the audit log (route, user agent). */
  readonly context?: Readonly<Record<string, string>>;
}

export interface CallOptions {
  /** This call's deadline, ms; the client's deadlineMs when absent. */
  readonly deadlineMs?: number;
}

export type Decision = "ALLOW" | "DENY";

/**
 * Why a decision did not come from the counter alone: the address is in an
 * exempt network of the policy file (allowed, nothing counted) or in a deny
 * network (denied whatever the count).
 */
export type VerdictReason = "NONE" | "EXEMPT" | "DENYLISTED";

export interface Verdict {
  readonly policy: string;
  readonly decision: Decision;
  /** Hits in the current sliding window, after this call. */
  readonly count: number;
  readonly limit: number;
  readonly remaining: number;
  /** Until an attempt of the same size would be allowed; 0 when allowed. */
  readonly retryAfterMs: number;
  /** Until the window holds no hits and any lockout has ended. */
  readonly resetAfterMs: number;
  /** True on exactly the call that made the count reach the limit. */
  readonly ceilingHit: boolean;
  /** Set while the subject is locked out. */
  readonly lockedUntil: Date | null;
  readonly windowMs: number;
  readonly shadow: boolean;
  /** What an enforcing policy would have decided; equals decision unless shadow. */
  readonly shadowDecision: Decision;
  /** Sequence of this decision's audit event; 0 when none was written. */
  readonly auditSequence: number;
  readonly reason: VerdictReason;
  /** EXEMPT / DENYLISTED: the network that matched, e.g. "10.0.0.0/8"; else "". */
  readonly network: string;
  /** DENYLISTED: the deny entry's reason from the policy file; else "". */
  readonly denyReason: string;
  /** The lockout lasts until an operator lifts it (lockedUntil then shows year 9999). */
  readonly permanent: boolean;
}

/** A gRPC status that is not OK, or the client's own equivalent. */
export interface CallStatus {
  /** gRPC status code (4: DEADLINE_EXCEEDED, 14: UNAVAILABLE, ...). */
  readonly code: number;
  /** The code's name, e.g. "UNAVAILABLE". */
  readonly name: string;
  readonly message: string;
}

export interface Result {
  /** Let the attempt through: the service's answer, else the configured mode's. */
  readonly allowed: boolean;
  /** One per subject in request order; empty unless the service answered. */
  readonly verdicts: readonly Verdict[];
  /** True when the service did not answer (down, hung, overloaded, failing, cooling down). */
  readonly degraded: boolean;
  /** Why there is no answer; absent when the service answered. */
  readonly status?: CallStatus;
  /** True when nothing was sent because the client is cooling down. */
  readonly failFast: boolean;
  /** RPCs (or Batch items) sent for this call: 0 when failing fast or invalid. */
  readonly attempts: number;
}

export type Operation = "check" | "peek" | "record" | "reset";

export interface BatchEntry {
  readonly op: Operation;
  readonly request: Request;
}

const CODE_NAMES = new Map<number, string>(
  Object.entries(Code)
    .filter((entry): entry is [string, number] => typeof entry[1] === "number")
    .map(([name, code]) => [code, name]),
);

export function callStatus(code: number, message: string): CallStatus {
  return { code, name: CODE_NAMES.get(code) ?? `CODE_${code}`, message };
}

function durationMs(duration: Duration | undefined): number {
  if (duration === undefined) return 0;
  return duration.seconds * 1000 + Math.floor(duration.nanos / 1e6);
}

function decisionOf(decision: Verdict_Decision): Decision {
  return decision === Verdict_Decision.ALLOW ? "ALLOW" : "DENY";
}

function reasonOf(reason: Verdict_Reason): VerdictReason {
  switch (reason) {
    case Verdict_Reason.EXEMPT:
      return "EXEMPT";
    case Verdict_Reason.DENYLISTED:
      return "DENYLISTED";
    default:
      return "NONE";
  }
}

export function verdictFromProto(v: ProtoVerdict): Verdict {
  return {
    policy: v.policy,
    decision: decisionOf(v.decision),
    count: v.count,
    limit: v.limit,
    remaining: v.remaining,
    retryAfterMs: durationMs(v.retryAfter),
    resetAfterMs: durationMs(v.resetAfter),
    ceilingHit: v.ceilingHit,
    lockedUntil: v.lockedUntil ?? null,
    windowMs: durationMs(v.window),
    shadow: v.shadow,
    shadowDecision: v.shadow ? decisionOf(v.shadowDecision) : decisionOf(v.decision),
    auditSequence: v.auditSequence,
    reason: reasonOf(v.reason),
    network: v.network,
    denyReason: v.denyReason,
    permanent: v.permanent,
  };
}
