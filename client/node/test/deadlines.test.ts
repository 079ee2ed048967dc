// DeadlineQueue: each call expires once, at its deadline, unless done first,
// whatever the order of the deadlines; no timer outlives the calls.

import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, test } from "node:test";
import { DeadlineQueue } from "../src/deadlines.js";

interface Call {
  readonly name: string;
  readonly deadlineAt: number;
  done: boolean;
  timer: NodeJS.Timeout | undefined;
}

function harness() {
  const expired: { name: string; lateMs: number }[] = [];
  const queue = new DeadlineQueue<Call>((call) => {
    call.done = true;
    expired.push({ name: call.name, lateMs: Date.now() - call.deadlineAt });
    queue.settled();
  });
  const add = (name: string, inMs: number): Call => {
    const call: Call = { name, deadlineAt: Date.now() + inMs, done: false, timer: undefined };
    queue.add(call);
    return call;
  };
  const finish = (call: Call): void => {
    call.done = true;
    if (call.timer !== undefined) clearTimeout(call.timer);
    queue.settled();
  };
  return { queue, expired, add, finish };
}

function timeouts(): number {
  return process.getActiveResourcesInfo().filter((kind) => kind === "Timeout").length;
}

describe("DeadlineQueue", () => {
  test("expires calls in deadline order, each at its deadline", async () => {
    const { expired, add } = harness();
    add("a", 20);
    add("b", 40);
    add("c", 40);
    await sleep(80);
    assert.deepEqual(
      expired.map((e) => e.name),
      ["a", "b", "c"],
    );
    for (const e of expired) assert.ok(e.lateMs >= 0 && e.lateMs < 30, `${e.name} expired ${e.lateMs}ms late`);
  });

  test("a call done in time never expires, before or behind the front", async () => {
    const { expired, add, finish } = harness();
    const a = add("a", 20);
    add("b", 30);
    const c = add("c", 40);
    finish(a);
    finish(c);
    await sleep(70);
    assert.deepEqual(
      expired.map((e) => e.name),
      ["b"],
    );
  });

  test("a call with a sooner deadline than the one before it expires at its own", async () => {
    const { expired, add } = harness();
    add("long", 200);
    add("short", 20);
    await sleep(60);
    assert.deepEqual(
      expired.map((e) => e.name),
      ["short"],
    );
    await sleep(180);
    assert.deepEqual(
      expired.map((e) => e.name),
      ["short", "long"],
    );
  });

  test("drops done calls from the front and holds no timer once all are done", () => {
    const before = timeouts();
    const { queue, add, finish } = harness();
    const calls = Array.from({ length: 3000 }, (_, i) => add(`c${i}`, 10_000));
    assert.equal(timeouts(), before + 1);
    for (const call of calls.slice(1)) finish(call);
    assert.equal(queue.size, 3000, "held behind the first, not yet done");
    const first = calls[0];
    assert.ok(first !== undefined);
    finish(first);
    assert.equal(queue.size, 0);
    assert.equal(timeouts(), before);
  });
});
