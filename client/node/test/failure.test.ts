// Failure modes against the real binary: down, hung (SIGSTOP), restarted on
// its port; deadlines; the circuit breaker (with a fake clock for its
// cool-downs: no waiting for time); Peek-only retries.

import assert from "node:assert/strict";
import { after, afterEach, before, describe, test } from "node:test";
import { GatehouseClient, type GatehouseClientOptions } from "../src/index.js";
import { GatehouseServer } from "./server.js";

const roomy = (user: string) => ({ subjects: [{ policy: "roomy", key: { user } }] });

let server: GatehouseServer;
const clients: GatehouseClient[] = [];
before(async () => {
  server = await GatehouseServer.start();
});
after(async () => {
  await server.close();
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  // Every test leaves the server running and not stopped.
  server.signal("SIGCONT");
  if (server.port !== 0) {
    try {
      await server.restart();
    } catch {
      // Still running.
    }
  }
});

function client(options: Partial<GatehouseClientOptions>): GatehouseClient {
  const made = new GatehouseClient({ address: server.address, token: server.token, ...options });
  clients.push(made);
  return made;
}

class FakeClock {
  ms = 1_000_000;
  readonly now = (): number => this.ms;
}

describe("service down", () => {
  for (const coalesce of [false, true]) {
    for (const failureMode of ["open", "closed"] as const) {
      test(`answers the failure mode, degraded, then fails fast (${failureMode}, coalesce ${coalesce})`, async () => {
        const clock = new FakeClock();
        const c = client({
          failureMode,
          coalesce,
          deadlineMs: 2000,
          failuresBeforeCooldown: 3,
          cooldownInitialMs: 1000,
          cooldownJitter: 0,
          now: clock.now,
        });
        await server.stop();
        for (let i = 0; i < 3; ++i) {
          const result = await c.check(roomy("down"));
          assert.equal(result.allowed, failureMode === "open");
          assert.equal(result.degraded, true);
          assert.equal(result.failFast, false);
          assert.equal(result.attempts, 1);
          assert.equal(result.status?.name, "UNAVAILABLE");
        }
        for (let i = 0; i < 100; ++i) {
          const result = await c.check(roomy("down"));
          assert.equal(result.allowed, failureMode === "open");
          assert.equal(result.degraded, true);
          assert.equal(result.failFast, true);
          assert.equal(result.attempts, 0);
          assert.match(result.status?.message ?? "", /cooling down after 3 consecutive failures; next probe in 1000ms/);
        }
        assert.deepEqual(c.stats(), {
          failedFast: 100,
          cooldowns: 1,
          retries: 0,
          invalidRequests: 0,
          coolingDown: true,
        });

        // Back on its port: once the cool-down is over, one probe waits for
        // the connection and gets the real answer; then calls flow again.
        await server.restart();
        clock.ms += 999;
        assert.equal((await c.check(roomy("down"))).failFast, true);
        clock.ms += 1;
        const probe = await c.record(roomy(`down-probe-${failureMode}-${coalesce}`), { deadlineMs: 10_000 });
        assert.equal(probe.status, undefined);
        assert.equal(probe.verdicts[0]?.count, 1);
        assert.equal(c.stats().coolingDown, false);
        const next = await c.record(roomy(`down-probe-${failureMode}-${coalesce}`));
        assert.equal(next.verdicts[0]?.count, 2);
      });
    }
  }

  test("a failed probe doubles the cool-down, up to cooldownMaxMs", async () => {
    const clock = new FakeClock();
    const c = client({
      coalesce: false,
      failuresBeforeCooldown: 1,
      cooldownInitialMs: 100,
      cooldownMaxMs: 300,
      cooldownJitter: 0,
      now: clock.now,
    });
    await server.stop();
    assert.equal((await c.check(roomy("x"))).attempts, 1);
    for (const cooldown of [200, 300, 300]) {
      clock.ms += 1000;
      const probe = await c.check(roomy("x"));
      assert.equal(probe.attempts, 1);
      assert.equal(probe.degraded, true);
      const fast = await c.check(roomy("x"));
      assert.match(fast.status?.message ?? "", new RegExp(`next probe in ${cooldown}ms`));
    }
    assert.equal(c.stats().cooldowns, 4);
  });

  test("Peek is re-sent after UNAVAILABLE within its deadline; Check, Record and Reset never", async () => {
    const c = client({ coalesce: false, peekRetries: 2, failuresBeforeCooldown: 100, deadlineMs: 5000 });
    await server.stop();
    const peek = await c.peek(roomy("retry"));
    assert.equal(peek.attempts, 3);
    assert.equal(peek.degraded, true);
    assert.equal(c.stats().retries, 2);
    for (const call of [c.check.bind(c), c.record.bind(c), c.reset.bind(c)]) {
      assert.equal((await call(roomy("retry"))).attempts, 1);
    }
    assert.equal(c.stats().retries, 2);
  });
});

describe("service hung", () => {
  for (const coalesce of [false, true]) {
    test(`a call ends at its deadline with DEADLINE_EXCEEDED; after SIGCONT a probe gets through (coalesce ${coalesce})`, async () => {
      const clock = new FakeClock();
      const c = client({
        coalesce,
        failureMode: "closed",
        deadlineMs: 150,
        failuresBeforeCooldown: 2,
        cooldownInitialMs: 500,
        cooldownJitter: 0,
        now: clock.now,
      });
      // Connected first (a generous deadline: the machine may be loaded).
      assert.equal((await c.check(roomy("hung"), { deadlineMs: 10_000 })).status, undefined);
      await server.hang();
      for (let i = 0; i < 2; ++i) {
        const started = performance.now();
        const result = await c.check(roomy("hung"));
        const elapsed = performance.now() - started;
        assert.equal(result.status?.name, "DEADLINE_EXCEEDED");
        assert.equal(result.allowed, false);
        assert.equal(result.degraded, true);
        // Never before the deadline (timers may fire a little late).
        assert.ok(elapsed >= 145, `${elapsed} ms`);
      }
      const fast = await c.check(roomy("hung"));
      assert.equal(fast.failFast, true);
      server.signal("SIGCONT");
      clock.ms += 500;
      const probe = await c.check(roomy("hung"), { deadlineMs: 10_000 });
      assert.equal(probe.status, undefined);
      assert.equal(probe.allowed, true);
      assert.equal(c.stats().coolingDown, false);
    });
  }

  test("a per-call deadline overrides deadlineMs; a non-positive one is sent nowhere", async () => {
    const c = client({ coalesce: false, deadlineMs: 10_000, failuresBeforeCooldown: 1 });
    const none = await c.check(roomy("deadline"), { deadlineMs: 0 });
    assert.equal(none.status?.name, "DEADLINE_EXCEEDED");
    assert.equal(none.attempts, 0);
    assert.equal(none.degraded, false);
    assert.equal(c.stats().coolingDown, false);
    assert.equal((await c.check(roomy("deadline"))).status, undefined);
    await server.hang();
    const result = await c.check(roomy("deadline"), { deadlineMs: 100 });
    assert.equal(result.status?.name, "DEADLINE_EXCEEDED");
    server.signal("SIGCONT");
  });
});
