// The sign-in flow helpers against the real binary.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { GatehouseClient, SignInGuard } from "../src/index.js";
import { GatehouseServer } from "./server.js";

let server: GatehouseServer;
let client: GatehouseClient;
before(async () => {
  server = await GatehouseServer.start();
  client = new GatehouseClient({ address: server.address, token: server.token, deadlineMs: 10_000 });
});
after(async () => {
  await client.close();
  await server.close();
});

test("failures lock the user out from that IP only; success clears them", async () => {
  const guard = new SignInGuard({ client, context: { route: "/login" } });
  const alice = { user: "alice@example.com", ip: "203.0.113.1" };
  for (let i = 0; i < 3; ++i) {
    const before = await guard.before({ ...alice, ip: `203.0.113.${i + 1}` });
    assert.equal(before.proceed, true);
  }
  // login_ip allows 3 attempts a minute per IP; failed_auth_user_ip 3 failures.
  const wrong = await guard.failed(alice);
  assert.equal(wrong.proceed, true);
  await guard.failed(alice);
  const third = await guard.failed(alice);
  assert.equal(third.proceed, false);
  assert.ok(third.retryAfterMs > 0);
  assert.equal(third.results[0]?.verdicts[0]?.ceilingHit, true);

  const locked = await guard.before({ ...alice, ip: "203.0.113.1" });
  assert.equal(locked.proceed, false);
  assert.equal(locked.degraded, false);
  assert.ok(locked.retryAfterMs > 0);
  // The same user from elsewhere is not locked out.
  assert.equal((await guard.before({ ...alice, ip: "203.0.113.50" })).proceed, true);

  const success = await guard.succeeded(alice);
  assert.equal(success.allowed, true);
  // Peeked as clear; the IP's attempts (login_ip, 3 a minute) still count,
  // the refused one included: this is its third, the next is over.
  const afterReset = await guard.before({ ...alice, ip: "203.0.113.1" });
  assert.equal(afterReset.proceed, true);
  const ipExhausted = await guard.before({ ...alice, ip: "203.0.113.1" });
  assert.equal(ipExhausted.proceed, false);
  assert.ok(ipExhausted.retryAfterMs > 0);
});

test("a user name the service cannot take is refused, never let through", async () => {
  const guard = new SignInGuard({ client });
  for (const user of ["\uD800mallory", "x".repeat(2000), "bad\u0000user"]) {
    const before = await guard.before({ user, ip: "203.0.113.60" });
    assert.equal(before.proceed, false, JSON.stringify(before.results.map((r) => r.status)));
    assert.equal(before.degraded, false);
  }
  assert.equal(client.stats().coolingDown, false);
});
