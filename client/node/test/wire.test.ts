// The hand-written encoder (src/wire.ts) against the generated one: the same
// bytes for every shape of request, and what it writes decodes back to the
// request.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { BatchItem, BatchRequest, type CheckRequest } from "../src/gen/gatehouse/v1/ratelimit.js";
import type { Operation, Request } from "../src/types.js";
import { encodeBatchItem, encodeBatchRequest } from "../src/wire.js";

function generatedItem(op: Operation, request: Request): BatchItem {
  const value: CheckRequest = {
    subjects: request.subjects.map((subject) => ({
      policy: subject.policy,
      key: { ...subject.key },
      hits: subject.hits ?? 0,
    })),
    context: { ...(request.context ?? {}) },
  };
  return { request: { $case: op, value } };
}

function generatedBytes(op: Operation, request: Request): Buffer {
  return Buffer.from(BatchItem.encode(generatedItem(op, request)).finish());
}

// A fixed-seed generator: every run checks the same requests.
function randomRequests(count: number): { op: Operation; request: Request }[] {
  let seed = 7;
  const next = (bound: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % bound;
  };
  const alphabet = ["a", "Z", "0", ".", "@", "é", "日", "😀", " ", "-"];
  const text = (maxChars: number): string => {
    let out = "";
    const length = next(maxChars + 1);
    for (let i = 0; i < length; ++i) out += alphabet[next(alphabet.length)];
    return out;
  };
  const map = (entries: number, emptyValues: boolean): Record<string, string> => {
    const out: Record<string, string> = {};
    for (let i = 0; i < entries; ++i) {
      const value = text(emptyValues ? 40 : 300);
      out[`d${i}${text(6)}`] = value === "" && !emptyValues ? "v" : value;
    }
    return out;
  };
  const ops: Operation[] = ["check", "peek", "record", "reset"];
  const hitsChoices = [undefined, 0, 1, 127, 128, 16_383, 16_384, 1_000_000];
  const requests: { op: Operation; request: Request }[] = [];
  for (let i = 0; i < count; ++i) {
    const subjects = Array.from({ length: 1 + next(4) }, () => {
      const hits = hitsChoices[next(hitsChoices.length)];
      const subject = { policy: `p${text(20)}`, key: map(1 + next(3), false) };
      return hits === undefined ? subject : { ...subject, hits };
    });
    const context = next(3) === 0 ? undefined : map(next(4), true);
    requests.push({
      op: ops[next(ops.length)] ?? "check",
      request: context === undefined ? { subjects } : { subjects, context },
    });
  }
  return requests;
}

describe("encodeBatchItem", () => {
  test("writes what the generated encoder writes", () => {
    for (const { op, request } of randomRequests(500)) {
      assert.deepEqual(encodeBatchItem(op, request), generatedBytes(op, request), JSON.stringify({ op, request }));
    }
  });

  test("a long value's length takes several bytes", () => {
    const request = { subjects: [{ policy: "p", key: { user: "x".repeat(70_000) } }] };
    assert.deepEqual(encodeBatchItem("peek", request), generatedBytes("peek", request));
  });

  test("decodes back to the request", () => {
    const request = {
      subjects: [{ policy: "login_ip", key: { ip: "203.0.113.7" }, hits: 3 }],
      context: { route: "/login", empty: "" },
    };
    const decoded = BatchItem.decode(encodeBatchItem("record", request));
    assert.deepEqual(decoded, {
      request: {
        $case: "record",
        value: {
          subjects: [{ policy: "login_ip", key: { ip: "203.0.113.7" }, hits: 3 }],
          context: { route: "/login", empty: "" },
        },
      },
    });
  });
});

describe("encodeBatchRequest", () => {
  test("writes what the generated encoder writes", () => {
    const requests = randomRequests(64);
    const items = requests.map(({ op, request }) => encodeBatchItem(op, request));
    const generated = BatchRequest.encode({
      items: requests.map(({ op, request }) => generatedItem(op, request)),
    }).finish();
    assert.deepEqual(encodeBatchRequest(items), Buffer.from(generated));
  });

  test("of no items is empty", () => {
    assert.equal(encodeBatchRequest([]).length, 0);
  });
});
