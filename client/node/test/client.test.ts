// GatehouseClient against the real gatehouse binary: answers, refusals,
// validation before sending, per-item results of coalescing, batch().

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { GatehouseClient, type Result } from "../src/index.js";
import { GatehouseServer } from "./server.js";

let server: GatehouseServer;
before(async () => {
  server = await GatehouseServer.start();
});
after(async () => {
  await server.close();
});

function one(policy: string, key: Record<string, string>, hits?: number) {
  return { subjects: [hits === undefined ? { policy, key } : { policy, key, hits }] };
}

async function withClient<T>(
  options: Partial<ConstructorParameters<typeof GatehouseClient>[0]>,
  body: (client: GatehouseClient) => Promise<T>,
): Promise<T> {
  // A generous deadline unless the test sets one: the machine may be loaded.
  const client = new GatehouseClient({
    address: server.address,
    token: server.token,
    deadlineMs: 10_000,
    ...options,
  });
  try {
    return await body(client);
  } finally {
    await client.close();
  }
}

describe("answers", () => {
  for (const coalesce of [true, false]) {
    test(`check, peek, record and reset give the service's verdicts (coalesce ${coalesce})`, async () => {
      await withClient({ coalesce }, async (client) => {
        const ip = coalesce ? "198.51.100.1" : "198.51.100.2";
        const user = { user: `alice-${coalesce}@example.com`, ip };
        const peek = await client.peek(one("failed_auth_user_ip", user));
        assert.equal(peek.allowed, true);
        assert.equal(peek.degraded, false);
        assert.equal(peek.status, undefined);
        assert.equal(peek.verdicts[0]?.count, 0);
        for (let i = 1; i <= 3; ++i) {
          const record = await client.record(one("failed_auth_user_ip", user));
          assert.equal(record.verdicts[0]?.count, i);
          assert.equal(record.verdicts[0]?.ceilingHit, i === 3);
        }
        const denied = await client.peek(one("failed_auth_user_ip", user));
        assert.equal(denied.allowed, false);
        assert.equal(denied.degraded, false);
        const verdict = denied.verdicts[0];
        assert.ok(verdict !== undefined);
        assert.equal(verdict.decision, "DENY");
        assert.equal(verdict.limit, 3);
        assert.equal(verdict.remaining, 0);
        assert.ok(verdict.retryAfterMs > 0);
        assert.ok(verdict.resetAfterMs >= verdict.retryAfterMs);
        assert.equal(verdict.windowMs, 15 * 60 * 1000);
        assert.equal(verdict.policy, "failed_auth_user_ip");
        assert.ok(verdict.auditSequence > 0);
        const reset = await client.reset(one("failed_auth_user_ip", user));
        assert.equal(reset.allowed, true);
        assert.equal((await client.peek(one("failed_auth_user_ip", user))).verdicts[0]?.count, 0);

        // Check counts only while allowed; hits count several at once.
        const check = await client.check(one("login_ip", { ip }, 3));
        assert.equal(check.allowed, true);
        assert.equal(check.verdicts[0]?.count, 3);
        const over = await client.check(one("login_ip", { ip }));
        assert.equal(over.allowed, false);
        assert.equal(over.verdicts[0]?.count, 3);
      });
    });
  }

  test("the token comes from GATEHOUSE_TOKEN when the option is absent", async () => {
    process.env["GATEHOUSE_TOKEN"] = server.token;
    try {
      const client = new GatehouseClient({ address: server.address, deadlineMs: 10_000 });
      const result = await client.peek(one("login_ip", { ip: "198.51.100.3" }));
      await client.close();
      assert.equal(result.status, undefined);
      assert.equal(result.verdicts.length, 1);
    } finally {
      delete process.env["GATEHOUSE_TOKEN"];
    }
  });

  test("an invalid option is a TypeError naming it", () => {
    assert.throws(() => new GatehouseClient({ address: "" }), /option address/);
    assert.throws(() => new GatehouseClient({ address: "x:1", deadlineMs: 0 }), /option deadlineMs/);
    assert.throws(
      () => new GatehouseClient({ address: "x:1", coalesce: { maxBatch: 257 } }),
      /option coalesce\.maxBatch/,
    );
    assert.throws(
      () => new GatehouseClient({ address: "x:1", coalesce: { streams: 17 } }),
      /option coalesce\.streams: must be in \[0, 16\], got 17/,
    );
    assert.throws(
      () => new GatehouseClient({ address: "x:1", coalesce: { streams: 1.5 } }),
      /option coalesce\.streams: must be an integer/,
    );
    assert.throws(
      () => new GatehouseClient({ address: "x:1", failureMode: "ajar" as "open" }),
      /option failureMode/,
    );
    assert.throws(() => new GatehouseClient({ address: "x:1", token: "a\nb" }), /option token/);
    assert.throws(
      () => new GatehouseClient({ address: "x:1", cooldownInitialMs: 100, cooldownMaxMs: 50 }),
      /option cooldownMaxMs/,
    );
  });
});

describe("verdict reasons", () => {
  test("exempt and deny networks say why, and which network", async () => {
    await withClient({}, async (client) => {
      const exempt = await client.check(one("guarded_ip", { ip: "10.1.2.3" }));
      assert.equal(exempt.allowed, true);
      assert.equal(exempt.verdicts[0]?.reason, "EXEMPT");
      assert.equal(exempt.verdicts[0]?.network, "10.0.0.0/8");
      assert.equal(exempt.verdicts[0]?.count, 0);
      const denied = await client.check(one("guarded_ip", { ip: "203.0.113.9" }));
      assert.equal(denied.allowed, false);
      assert.equal(denied.degraded, false);
      assert.equal(denied.verdicts[0]?.reason, "DENYLISTED");
      assert.equal(denied.verdicts[0]?.denyReason, "credential stuffing");
      assert.equal(denied.verdicts[0]?.permanent, false);
      const plain = await client.check(one("guarded_ip", { ip: "192.0.2.1" }));
      assert.equal(plain.verdicts[0]?.reason, "NONE");
      assert.equal(plain.verdicts[0]?.network, "");
    });
  });
});

describe("refusals", () => {
  for (const failureMode of ["open", "closed"] as const) {
    test(`a bad token and an unknown policy get the failure mode's answer, not degraded (${failureMode})`, async () => {
      await withClient({ token: "not-the-token", failureMode, failuresBeforeCooldown: 1 }, async (client) => {
        for (let i = 0; i < 3; ++i) {
          const result = await client.check(one("login_ip", { ip: "198.51.100.4" }));
          assert.equal(result.allowed, failureMode === "open");
          assert.equal(result.degraded, false);
          assert.equal(result.status?.name, "UNAUTHENTICATED");
          assert.equal(result.attempts, 1);
        }
        // Never held against the service: still sending.
        assert.equal(client.stats().coolingDown, false);
      });
      await withClient({ failureMode, failuresBeforeCooldown: 1 }, async (client) => {
        for (let i = 0; i < 3; ++i) {
          const result = await client.check(one("no_such_policy", { ip: "198.51.100.4" }));
          assert.equal(result.allowed, failureMode === "open");
          assert.equal(result.degraded, false);
          assert.equal(result.status?.name, "NOT_FOUND");
          assert.equal(result.attempts, 1);
        }
        assert.equal(client.stats().coolingDown, false);
      });
    });
  }
});

describe("invalid values", () => {
  const user = (value: string) => one("failed_auth_user_ip", { user: value, ip: "198.51.100.5" });
  const invalid: [string, () => ReturnType<typeof one>, RegExp][] = [
    ["a lone surrogate", () => user("caf\uD800"), /subjects\[0\]\.key\["user"\]: not valid UTF-8/],
    ["a value over 320 bytes", () => user("é".repeat(161)), /subjects\[0\]\.key\["user"\]: 322 bytes, at most 320/],
    ["an empty value", () => user(""), /must not be empty/],
    ["hits over 1,000,000", () => one("login_ip", { ip: "198.51.100.5" }, 1_000_001), /subjects\[0\]\.hits/],
    [
      "65 subjects",
      () => ({ subjects: Array.from({ length: 65 }, () => ({ policy: "login_ip", key: { ip: "198.51.100.5" } })) }),
      /subjects: 65 subjects, at most 64/,
    ],
    ["a non-string value", () => user(7 as unknown as string), /must be a string, got number/],
  ];
  for (const [name, request, message] of invalid) {
    test(`${name} is denied without being sent, even failing open`, async () => {
      await withClient({ failureMode: "open" }, async (client) => {
        const result = await client.record(request());
        assert.equal(result.allowed, false);
        assert.equal(result.degraded, false);
        assert.equal(result.attempts, 0);
        assert.equal(result.status?.name, "INVALID_ARGUMENT");
        assert.match(result.status?.message ?? "", message);
        assert.equal(client.stats().invalidRequests, 1);
      });
    });
  }

  test("values the service refuses are denied by default and never open the breaker", async () => {
    await withClient({ failureMode: "open", failuresBeforeCooldown: 2 }, async (client) => {
      // The service refuses them (not an IP; a control character).
      for (let i = 0; i < 6; ++i) {
        const bad = await client.check(one("login_ip", { ip: `not-an-ip-${i}` }));
        assert.equal(bad.allowed, false);
        assert.equal(bad.degraded, false);
        assert.equal(bad.attempts, 1);
        assert.equal(bad.status?.name, "INVALID_ARGUMENT");
        const control = await client.check(user("bad\u0001user"));
        assert.equal(control.allowed, false);
        assert.equal(control.status?.name, "INVALID_ARGUMENT");
      }
      // A well-formed request is still sent and answered.
      const good = await client.check(one("login_ip", { ip: "198.51.100.6" }));
      assert.equal(good.status, undefined);
      assert.equal(good.verdicts[0]?.count, 1);
      assert.equal(client.stats().coolingDown, false);
      assert.equal(client.stats().failedFast, 0);
    });
  });

  test('invalidRequestMode "failureMode" answers an invalid request as an outage would', async () => {
    for (const failureMode of ["open", "closed"] as const) {
      await withClient({ failureMode, invalidRequestMode: "failureMode" }, async (client) => {
        const local = await client.check(user("caf\uDFFF"));
        assert.equal(local.allowed, failureMode === "open");
        assert.equal(local.status?.name, "INVALID_ARGUMENT");
        const remote = await client.check(one("login_ip", { ip: "nope" }));
        assert.equal(remote.allowed, failureMode === "open");
        assert.equal(remote.degraded, false);
      });
    }
  });

  test("an invalid request counts nothing: the well-formed subject beside it is untouched", async () => {
    await withClient({}, async (client) => {
      const ip = "198.51.100.7";
      const mixed = await client.record({
        subjects: [
          { policy: "login_ip", key: { ip } },
          { policy: "failed_auth_user_ip", key: { user: "x\uD83D", ip } },
        ],
      });
      assert.equal(mixed.allowed, false);
      const peek = await client.peek(one("login_ip", { ip }));
      assert.equal(peek.verdicts[0]?.count, 0);
    });
  });
});

describe("coalescing", () => {
  test("64 concurrent calls go out as Batch items, each caller getting its own item's result", async () => {
    await withClient({ coalesce: { maxBatch: 16 } }, async (client) => {
      // Four users, each recorded 16 times concurrently, mixed with invalid
      // items and unknown policies that fail alone.
      const calls: Promise<Result>[] = [];
      for (let i = 0; i < 64; ++i) {
        calls.push(client.record(one("roomy", { user: `coalesced-${i % 4}` })));
      }
      const unknown = client.check(one("no_such_policy", { user: "x" }));
      const refused = client.check(one("login_ip", { ip: "not-an-ip" }));
      const results = await Promise.all(calls);
      for (const [i, result] of results.entries()) {
        assert.equal(result.status, undefined, `call ${i}`);
        assert.equal(result.attempts, 1);
      }
      // Each user's counts are exactly 1..16, one per call.
      for (let u = 0; u < 4; ++u) {
        const counts = results
          .filter((_, i) => i % 4 === u)
          .map((result) => result.verdicts[0]?.count ?? -1)
          .sort((a, b) => a - b);
        assert.deepEqual(counts, Array.from({ length: 16 }, (_, i) => i + 1));
      }
      assert.equal((await unknown).status?.name, "NOT_FOUND");
      assert.equal((await refused).status?.name, "INVALID_ARGUMENT");
      assert.equal((await refused).allowed, false);
    });
  });

  test("a call whose deadline passes gets DEADLINE_EXCEEDED at its deadline, others are unaffected", async () => {
    // A long linger holds the batch; the short-deadline call gives up first
    // and its item is dropped, never counted.
    await withClient({ coalesce: { lingerMs: 300 } }, async (client) => {
      const short = client.record(one("roomy", { user: "deadline-short" }), { deadlineMs: 50 });
      const long = client.record(one("roomy", { user: "deadline-long" }), { deadlineMs: 5000 });
      const shortResult = await short;
      assert.equal(shortResult.status?.name, "DEADLINE_EXCEEDED");
      assert.equal(shortResult.degraded, true);
      assert.equal((await long).verdicts[0]?.count, 1);
      const peek = await client.peek(one("roomy", { user: "deadline-short" }), { deadlineMs: 5000 });
      assert.equal(peek.verdicts[0]?.count, 0);
    });
  });
});

describe("batch", () => {
  test("runs entries in order, each with its own result", async () => {
    await withClient({}, async (client) => {
      const ip = "198.51.100.8";
      const key = { user: "batch@example.com", ip };
      const results = await client.batch([
        { op: "record", request: one("failed_auth_user_ip", key) },
        { op: "record", request: one("failed_auth_user_ip", key) },
        { op: "peek", request: one("failed_auth_user_ip", key) },
        { op: "check", request: one("no_such_policy", key) },
        { op: "record", request: one("failed_auth_user_ip", { ...key, user: "\uD800" }) },
        { op: "reset", request: one("failed_auth_user_ip", key) },
        { op: "peek", request: one("failed_auth_user_ip", key) },
      ]);
      assert.deepEqual(
        results.map((r) => [r.status?.name ?? "OK", r.verdicts[0]?.count ?? null]),
        [
          ["OK", 1],
          ["OK", 2],
          ["OK", 2],
          ["NOT_FOUND", null],
          ["INVALID_ARGUMENT", null],
          ["OK", 0],
          ["OK", 0],
        ],
      );
      assert.equal(results[4]?.allowed, false);
      assert.equal(results[4]?.attempts, 0);
    });
  });
});
