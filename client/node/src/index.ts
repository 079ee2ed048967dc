// @gatehouse/client: the Node client of the Gatehouse rate limiter.
export { GatehouseClient, type ClientStats } from "./client.js";
export {
  DEFAULTS,
  type CoalesceOptions,
  type FailureMode,
  type GatehouseClientOptions,
  type InvalidRequestMode,
  type TlsOptions,
} from "./options.js";
export type {
  BatchEntry,
  CallOptions,
  CallStatus,
  Decision,
  Operation,
  Request,
  Result,
  Subject,
  Verdict,
  VerdictReason,
} from "./types.js";
export { MAX_HITS, MAX_SUBJECTS, MAX_VALUE_BYTES } from "./validate.js";
export {
  SignInGuard,
  type SignInAttempt,
  type SignInDecision,
  type SignInGuardOptions,
} from "./sign-in.js";
export { expressMiddleware, type ExpressMiddleware } from "./middleware/express.js";
export { httpAnswer, type HttpAnswer, type MiddlewareOptions } from "./middleware/headers.js";
export type {
  AuditEvent,
  AuditStreamOptions,
  CeilingEvent,
  ReconnectOptions,
  WatchCeilingsOptions,
} from "./streams.js";
