// auditStream() and watchCeilings() against the real binary, across a
// restart of the server on its port: each event once, in order.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { type CeilingEvent, GatehouseClient } from "../src/index.js";
import { GatehouseServer, STREAM_POLICIES } from "./server.js";

let server: GatehouseServer;
let client: GatehouseClient;
before(async () => {
  server = await GatehouseServer.start({ policies: STREAM_POLICIES });
  client = new GatehouseClient({ address: server.address, token: server.token, deadlineMs: 5000 });
});
after(async () => {
  await client.close();
  await server.close();
});

async function cross(user: string): Promise<void> {
  const result = await client.record({ subjects: [{ policy: "ceiling1", key: { user } }] }, { deadlineMs: 10_000 });
  assert.equal(result.verdicts[0]?.ceilingHit, true, JSON.stringify(result));
}

test("auditStream resumes after a restart from the last sequence, each event once", async () => {
  for (let i = 0; i < 5; ++i) await cross(`audit-a${i}`);
  const abort = new AbortController();
  const stream = client.auditStream({ fromSequence: 1, signal: abort.signal, reconnectInitialMs: 20, policies: ["ceiling1"] });
  const seen: number[] = [];
  for await (const event of stream) {
    assert.equal(event.policy, "ceiling1");
    assert.equal(event.rpc, "Record");
    seen.push(event.sequence);
    if (seen.length === 5) {
      await server.stop();
      await server.restart();
      for (let i = 0; i < 5; ++i) await cross(`audit-b${i}`);
    }
    if (seen.length === 10) abort.abort();
  }
  assert.equal(seen.length, 10);
  assert.deepEqual(seen, Array.from({ length: 10 }, (_, i) => (seen[0] ?? 0) + i));
});

test("watchCeilings replays the crossings missed while disconnected, each once", async () => {
  const abort = new AbortController();
  let watching = 0;
  let onWatch: () => void = () => {};
  const stream = client.watchCeilings({
    signal: abort.signal,
    policies: ["ceiling1"],
    // Long enough that the crossings below land while disconnected.
    reconnectInitialMs: 300,
    onWatching: () => {
      ++watching;
      onWatch();
    },
  });
  const events: CeilingEvent[] = [];
  const firstWatch = new Promise<void>((resolve) => {
    onWatch = resolve;
  });
  const consumed = (async () => {
    for await (const event of stream) {
      events.push(event);
      if (events.length === 3) {
        await server.stop();
        await server.restart();
        // While the watcher waits to reconnect.
        for (let i = 0; i < 3; ++i) await cross(`watch-b${i}`);
      }
      if (events.length === 6) abort.abort();
    }
  })();
  await firstWatch;
  for (let i = 0; i < 3; ++i) await cross(`watch-a${i}`);
  await consumed;
  assert.equal(watching, 2);
  assert.deepEqual(
    events.map((e) => e.key["user"]),
    ["watch-a0", "watch-a1", "watch-a2", "watch-b0", "watch-b1", "watch-b2"],
  );
  for (let i = 1; i < events.length; ++i) {
    assert.ok((events[i]?.sequence ?? 0) > (events[i - 1]?.sequence ?? 0));
  }
  for (const event of events) {
    assert.equal(event.policy, "ceiling1");
    assert.equal(event.count, 1);
    assert.equal(event.limit, 1);
  }
});
