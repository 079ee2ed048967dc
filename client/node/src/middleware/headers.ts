// What an HTTP rate-limiting middleware answers for a Result: the status and
// the IETF draft RateLimit-Policy / RateLimit headers (draft-ietf-httpapi-
// ratelimit-headers), shared by the Express and Hono middleware.

import type { GatehouseClient } from "../client.js";
import type { Result } from "../types.js";

export interface MiddlewareOptions<Req> {
  readonly client: GatehouseClient;
  /** The policy to Check for each request. */
  readonly policy: string;
  /** The policy's dimensions for a request; default {ip: the peer's address}. */
  readonly key?: (request: Req) => Record<string, string> | Promise<Record<string, string>>;
  /** Audit context for a request; default {route: method + path}. */
  readonly context?: (request: Req) => Record<string, string>;
  /** Hits each request counts; default 1. */
  readonly hits?: number;
  /** Deadline of the Check, ms; the client's deadlineMs when absent. */
  readonly deadlineMs?: number;
}

export interface HttpAnswer {
  /** Whether to let the request through to the route. */
  readonly allowed: boolean;
  /** When not allowed: 429 when a limit denied, 503 when Gatehouse could not answer. */
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
}

function seconds(ms: number): number {
  return Math.max(0, Math.ceil(ms / 1000));
}

/**
 * The answer for `result` of a Check of `policy`. Headers come from the
 * first verdict: RateLimit-Policy `"policy";q=limit;w=window seconds` and
 * RateLimit `"policy";r=remaining;t=seconds` (t: until an attempt would be
 * allowed when denied, until the window is empty when allowed), and
 * Retry-After (at least 1 s) when denied. No headers when Gatehouse gave
 * no verdict (degraded, or the request was refused).
 */
export function httpAnswer(policy: string, result: Result): HttpAnswer {
  const headers: Record<string, string> = {};
  const verdict = result.verdicts[0];
  const name = JSON.stringify(policy);
  if (verdict !== undefined) {
    headers["RateLimit-Policy"] = `${name};q=${verdict.limit};w=${seconds(verdict.windowMs)}`;
    const t = result.allowed ? verdict.resetAfterMs : verdict.retryAfterMs;
    headers["RateLimit"] = `${name};r=${verdict.remaining};t=${seconds(t)}`;
  }
  if (result.allowed) return { allowed: true, status: 200, headers };
  const retryAfterMs = Math.max(0, ...result.verdicts.map((v) => v.retryAfterMs));
  headers["Retry-After"] = String(Math.max(1, seconds(retryAfterMs)));
  return { allowed: false, status: result.degraded ? 503 : 429, headers };
}

/** Checks one HTTP request: the Check's Result and what to answer. */
export async function checkHttp<Req>(
  options: MiddlewareOptions<Req>,
  request: Req,
  defaultKey: (request: Req) => Record<string, string>,
  defaultContext: (request: Req) => Record<string, string>,
): Promise<{ readonly result: Result; readonly answer: HttpAnswer }> {
  const key = options.key === undefined ? defaultKey(request) : await options.key(request);
  const context = (options.context ?? defaultContext)(request);
  const subject =
    options.hits === undefined
      ? { policy: options.policy, key }
      : { policy: options.policy, key, hits: options.hits };
  const result = await options.client.check(
    { subjects: [subject], context },
    options.deadlineMs === undefined ? undefined : { deadlineMs: options.deadlineMs },
  );
  return { result, answer: httpAnswer(options.policy, result) };
}

/** The route context kept in the audit log, bounded to the service's 256 bytes. */
export function routeContext(method: string | undefined, path: string | undefined): Record<string, string> {
  const route = `${method ?? "?"} ${path ?? "?"}`;
  return { route: Buffer.from(route).subarray(0, 200).toString("utf8").replace(/\uFFFD+$/u, "") };
}
