// Checks a request before it is sent, so that a value the service would
// refuse (or could not even parse) is answered by the client as an invalid
// request: never sent, never held against the service by the circuit
// breaker. The service checks everything again; these are the checks that
// need no policy (dimension names and IP syntax are the service's).

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

// What is wrong with `value` as a string field, or null. The caller names
// the field, so that no name is built for a value that is fine.
function stringProblem(value: unknown, maxBytes?: number): string | null {
  if (typeof value !== "string") return `must be a string, got ${typeof value}`;
  if (value === "") return "must not be empty";
  if (LONE_SURROGATE.test(value)) return "not valid UTF-8 (a lone surrogate)";
  // A UTF-16 code unit takes at most 3 bytes of UTF-8: only a long value
  // needs counting.
  if (maxBytes !== undefined && value.length * 3 > maxBytes) {
    const bytes = Buffer.byteLength(value, "utf8");
    if (bytes > maxBytes) return `${bytes} bytes, at most ${maxBytes}`;
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
    if (!isRecord(subject)) return `subjects[${i}]: must be an object`;
    const policyProblem = stringProblem(subject["policy"]);
    if (policyProblem !== null) return `subjects[${i}].policy: ${policyProblem}`;
    const key = subject["key"];
    if (!isRecord(key)) return `subjects[${i}].key: must be an object`;
    let dimensions = 0;
    for (const name in key) {
      if (!Object.prototype.hasOwnProperty.call(key, name)) continue;
      ++dimensions;
      const nameProblem = stringProblem(name);
      if (nameProblem !== null) return `subjects[${i}].key: ${nameProblem} (a dimension name)`;
      const valueProblem = stringProblem(key[name], MAX_VALUE_BYTES);
      if (valueProblem !== null) return `subjects[${i}].key[${JSON.stringify(name)}]: ${valueProblem}`;
    }
    if (dimensions === 0) return `subjects[${i}].key: no dimension`;
    const hits = subject["hits"];
    if (hits !== undefined) {
      if (typeof hits !== "number" || !Number.isInteger(hits) || hits < 0 || hits > MAX_HITS) {
        return `subjects[${i}].hits: must be an integer in [0, ${MAX_HITS}], got ${String(hits)}`;
      }
    }
  }
  const context = request["context"];
  if (context !== undefined) {
    if (!isRecord(context)) return "context: must be an object";
    for (const name in context) {
      if (!Object.prototype.hasOwnProperty.call(context, name)) continue;
      const nameProblem = stringProblem(name);
      if (nameProblem !== null) return `context: ${nameProblem} (an entry name)`;
      const value = context[name];
      // An empty value is allowed here; the service bounds the lengths.
      if (value !== "") {
        const valueProblem = stringProblem(value);
        if (valueProblem !== null) return `context[${JSON.stringify(name)}]: ${valueProblem}`;
      }
    }
  }
  return null;
}
