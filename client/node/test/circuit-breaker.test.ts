// The circuit breaker alone, on a fake clock and a fixed "random" source.

import assert from "node:assert/strict";
import { test } from "node:test";
import { CircuitBreaker, isRefusal, type Ticket } from "../src/circuit-breaker.js";

function make(random = () => 0) {
  const clock = { ms: 1000 };
  const breaker = new CircuitBreaker({
    failuresBeforeCooldown: 2,
    cooldownInitialMs: 100,
    cooldownMaxMs: 1000,
    jitter: 0.5,
    now: () => clock.ms,
    random,
  });
  return { clock, breaker };
}

function ticket(breaker: CircuitBreaker): Ticket {
  const admission = breaker.admit();
  assert.ok(!isRefusal(admission), "expected a ticket");
  return admission;
}

test("neutral outcomes never open it; failures in a row do; a success in between resets the count", () => {
  const { breaker } = make();
  for (let i = 0; i < 10; ++i) breaker.report(ticket(breaker), "neutral");
  breaker.report(ticket(breaker), "failure");
  breaker.report(ticket(breaker), "success");
  breaker.report(ticket(breaker), "failure");
  assert.equal(breaker.stats().open, false);
  breaker.report(ticket(breaker), "failure");
  assert.equal(breaker.stats().open, true);
  assert.ok(isRefusal(breaker.admit()));
});

test("jitter only shortens the cool-down", () => {
  const { clock, breaker } = make(() => 0.999);
  breaker.report(ticket(breaker), "failure");
  breaker.report(ticket(breaker), "failure");
  // 100 ms shortened by up to 50 %: just over 50 ms.
  clock.ms += 50;
  assert.ok(isRefusal(breaker.admit()));
  clock.ms += 1;
  assert.equal(ticket(breaker).probe, true);
});

test("one probe at a time; a neutral probe lets the next call probe; late reports of old calls are ignored", () => {
  const { clock, breaker } = make();
  const early = ticket(breaker);
  breaker.report(ticket(breaker), "failure");
  breaker.report(ticket(breaker), "failure");
  clock.ms += 100;
  const probe = ticket(breaker);
  assert.equal(probe.probe, true);
  const refused = breaker.admit();
  assert.ok(isRefusal(refused) && /a probe call is out/.test(refused.refused));
  breaker.report(probe, "neutral");
  const second = ticket(breaker);
  assert.equal(second.probe, true);
  // A call admitted before the breaker opened fails late: not counted again.
  breaker.report(early, "failure");
  assert.equal(breaker.stats().cooldowns, 1);
  breaker.report(second, "success");
  assert.equal(breaker.stats().open, false);
  assert.equal(breaker.stats().consecutiveFailures, 0);
});

test("a clock that steps back while open ends the cool-down", () => {
  const { clock, breaker } = make();
  breaker.report(ticket(breaker), "failure");
  breaker.report(ticket(breaker), "failure");
  assert.ok(isRefusal(breaker.admit()));
  clock.ms -= 10_000;
  assert.equal(ticket(breaker).probe, true);
});
