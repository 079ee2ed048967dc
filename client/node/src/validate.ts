// Checks a request before it is sent, so that a value the service would
// refuse (or could not even parse) is answered by the client as an invalid
// request: never sent, never held against the service by the circuit
// breaker. The service checks everything again; these are the checks that
// need no policy (dimension names and IP syntax are the service's).

import type { Request } from "./types.js";

/** Subjects per request (the service's bound). */
export const MAX_SUBJECTS = 64;
/** Hits per subject (the service's bound). */
export const MAX_HITS = 1_000_000;
/**
 * Bytes of UTF-8 per dimension value: the service's bound, which every
 * valid e-mail address (up to 320 bytes) fits.
 */
export const MAX_VALUE_BYTES = 320;

// A lone surrogate: with the u flag a well-formed pair is one code point and
// does not match. Such a string has no UTF-8 encoding (protobuf would send
// U+FFFD instead, folding distinct values into one counter).
const LONE_SURROGATE = /\p{Surrogate}/u;

function badString(field: string, value: unknown, maxBytes?: number): string | null {
  if (typeof value !== "string") return `${field}: must be a string, got ${typeof value}`;
  if (value === "") return `${field}: must not be empty`;
  if (LONE_SURROGATE.test(value)) return `${field}: not valid UTF-8 (a lone surrogate)`;
  if (maxBytes !== undefined) {
    const bytes = Buffer.byteLength(value, "utf8");
    if (bytes > maxBytes) return `${field}: ${bytes} bytes, at most ${maxBytes}`;
  }
  return null;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/**
 * Null when the request may be sent, else a message naming the field, as
 * the service's INVALID_ARGUMENT does (e.g. `subjects[1].key["user"]: ...`).
 * Tolerates any runtime value: requests are often built from user input.
 */
export function validateRequest(request: unknown): string | null {
  if (!isRecord(request)) return "request: must be an object";
  const subjects = request["subjects"];
  if (!Array.isArray(subjects)) return "subjects: must be an array";
  if (subjects.length === 0) return "subjects: at least one subject";
  if (subjects.length > MAX_SUBJECTS) {
    return `subjects: ${subjects.length} subjects, at most ${MAX_SUBJECTS}`;
  }
  for (let i = 0; i < subjects.length; ++i) {
    const subject: unknown = subjects[i];
    const at = `subjects[${i}]`;
    if (!isRecord(subject)) return `${at}: must be an object`;
    const policyError = badString(`${at}.policy`, subject["policy"]);
    if (policyError !== null) return policyError;
    const key = subject["key"];
    if (!isRecord(key)) return `${at}.key: must be an object`;
    const names = Object.keys(key);
    if (names.length === 0) return `${at}.key: no dimension`;
    for (const name of names) {
      const nameError = badString(`${at}.key`, name);
      if (nameError !== null) return `${nameError} (a dimension name)`;
      const valueError = badString(`${at}.key[${JSON.stringify(name)}]`, key[name], MAX_VALUE_BYTES);
      if (valueError !== null) return valueError;
    }
    const hits = subject["hits"];
    if (hits !== undefined) {
      if (typeof hits !== "number" || !Number.isInteger(hits) || hits < 0 || hits > MAX_HITS) {
        return `${at}.hits: must be an integer in [0, ${MAX_HITS}], got ${String(hits)}`;
      }
    }
  }
  const context = request["context"];
  if (context !== undefined) {
    if (!isRecord(context)) return "context: must be an object";
    for (const [name, value] of Object.entries(context)) {
      const nameError = badString("context", name);
      if (nameError !== null) return `${nameError} (an entry name)`;
      const field = `context[${JSON.stringify(name)}]`;
      // An empty value is allowed here; the service bounds the lengths.
      if (value !== "") {
        const valueError = badString(field, value);
        if (valueError !== null) return valueError;
      }
    }
  }
  return null;
}

/** An upper bound of the request's encoded size, for batching. */
export function approximateBytes(request: Request): number {
  let bytes = 16;
  for (const subject of request.subjects) {
    bytes += 16 + subject.policy.length * 3;
    for (const [name, value] of Object.entries(subject.key)) {
      bytes += 8 + (name.length + value.length) * 3;
    }
  }
  for (const [name, value] of Object.entries(request.context ?? {})) {
    bytes += 8 + (name.length + value.length) * 3;
  }
  return bytes;
}
