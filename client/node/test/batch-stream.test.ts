// Coalesced batches over RateLimiter.BatchStream against the real binary:
// which RPCs carry them, a server shutting down with streams open, and a
// service without BatchStream (an older Gatehouse, stood in for by a
// grpc-js server that has only Batch).

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { type sendUnaryData, Server, ServerCredentials, type ServerUnaryCall } from "@grpc/grpc-js";
import { GatehouseClient, type GatehouseClientOptions, type Result } from "../src/index.js";
import {
  type BatchRequest,
  type BatchResponse,
  type BatchResult,
  RateLimiterService,
} from "../src/gen/gatehouse/v1/ratelimit.js";
import { GatehouseServer } from "./server.js";

const roomy = (user: string) => ({ subjects: [{ policy: "roomy", key: { user } }] });

function requests(server: GatehouseServer, method: string, code = "OK"): Promise<number> {
  return server.metric("gatehouse_grpc_requests_total", { method, code });
}

async function withClient<T>(
  address: string,
  options: Partial<GatehouseClientOptions>,
  body: (client: GatehouseClient) => Promise<T>,
): Promise<T> {
  const client = new GatehouseClient({ address, deadlineMs: 10_000, ...options });
  try {
    return await body(client);
  } finally {
    await client.close();
  }
}

// 48 concurrent records on 4 users: each count 1..12 exactly once.
async function recordConcurrently(client: GatehouseClient, prefix: string): Promise<void> {
  const calls: Promise<Result>[] = [];
  for (let i = 0; i < 48; ++i) calls.push(client.record(roomy(`${prefix}-${i % 4}`)));
  const results = await Promise.all(calls);
  for (const result of results) assert.equal(result.status, undefined);
  for (let u = 0; u < 4; ++u) {
    const counts = results
      .filter((_, i) => i % 4 === u)
      .map((result) => result.verdicts[0]?.count ?? -1)
      .sort((a, b) => a - b);
    assert.deepEqual(counts, Array.from({ length: 12 }, (_, i) => i + 1));
  }
}

describe("against gatehouse", () => {
  let server: GatehouseServer;
  before(async () => {
    server = await GatehouseServer.start();
  });
  after(async () => {
    await server.close();
  });

  test("coalesced batches go on BatchStream calls by default, each caller getting its own item's result", async () => {
    const batches = await requests(server, "Batch");
    const messages = await requests(server, "BatchStream");
    await withClient(server.address, { token: server.token, coalesce: { maxBatch: 8 } }, async (client) => {
      await recordConcurrently(client, "stream");
    });
    // 48 items in batches of at most 8: at least 6 messages, no Batch call.
    assert.ok((await requests(server, "BatchStream")) - messages >= 6);
    assert.equal(await requests(server, "Batch"), batches);
  });

  test("coalesce.streams 0 sends each batch as a Batch RPC", async () => {
    const batches = await requests(server, "Batch");
    const messages = await requests(server, "BatchStream");
    await withClient(server.address, { token: server.token, coalesce: { maxBatch: 8, streams: 0 } }, async (client) => {
      await recordConcurrently(client, "unary");
    });
    assert.ok((await requests(server, "Batch")) - batches >= 6);
    assert.equal(await requests(server, "BatchStream"), messages);
  });

  test("a refused stream (unknown token) answers every caller as its unary call would", async () => {
    await withClient(server.address, { token: "not-a-token-of-any-client" }, async (client) => {
      const results = await Promise.all([client.check(roomy("refused-a")), client.peek(roomy("refused-b"))]);
      for (const result of results) {
        assert.equal(result.status?.name, "UNAUTHENTICATED");
        assert.equal(result.degraded, false);
      }
    });
  });

  test("a process that made calls and never called close() still exits: idle streams end", async () => {
    const index = new URL("../src/index.js", import.meta.url).href;
    const script = `
      import { GatehouseClient } from ${JSON.stringify(index)};
      const client = new GatehouseClient({ address: ${JSON.stringify(server.address)}, token: ${JSON.stringify(server.token)}, deadlineMs: 10000 });
      const result = await client.record({ subjects: [{ policy: "roomy", key: { user: "no-close" } }] });
      console.log(result.status?.name ?? result.verdicts[0]?.count);
    `;
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "inherit"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    const code = await new Promise<number | null>((resolve) => {
      const killer = setTimeout(() => child.kill("SIGKILL"), 20_000);
      child.once("exit", (exitCode) => {
        clearTimeout(killer);
        resolve(exitCode);
      });
    });
    assert.equal(code, 0, "the process did not exit by itself within 20 s");
    assert.equal(output.trim(), "1");
  });

  test("a server shutting down ends the open streams at once, not after its grace; the client reconnects", async () => {
    const graceful = await GatehouseServer.start({ args: ["--shutdown_grace=30s"] });
    try {
      await withClient(graceful.address, { token: graceful.token }, async (client) => {
        assert.equal((await client.record(roomy("shutdown"))).verdicts[0]?.count, 1);
        // The stream is open and idle: without being ended it would hold
        // the shutdown for all of its 30 s.
        const started = performance.now();
        await graceful.stop();
        const elapsed = performance.now() - started;
        assert.ok(elapsed < 10_000, `stopped in ${elapsed} ms`);
        await graceful.restart();
        // Until the channel has reconnected a call may fail fast
        // (UNAVAILABLE, counting nothing); then it is answered on a new stream.
        let result: Result | undefined;
        for (let i = 0; i < 100 && (result === undefined || result.status !== undefined); ++i) {
          if (result !== undefined) await sleep(50);
          result = await client.record(roomy("shutdown"));
          if (result.status !== undefined) assert.equal(result.status.name, "UNAVAILABLE");
        }
        assert.equal(result?.verdicts[0]?.count, 2);
      });
    } finally {
      await graceful.close();
    }
  });
});

describe("a service without BatchStream", () => {
  // Answers each item allowed, with no verdict, and remembers what it got.
  const received: number[] = [];
  let older: Server;
  let address: string;
  before(async () => {
    older = new Server();
    older.addService(RateLimiterService, {
      batch: (call: ServerUnaryCall<BatchRequest, BatchResponse>, callback: sendUnaryData<BatchResponse>) => {
        received.push(call.request.items.length);
        const results: BatchResult[] = call.request.items.map((item) => ({
          status: { code: 0, message: "" },
          response:
            item.request?.$case === "peek"
              ? { $case: "peek", value: { allowed: true, verdicts: [] } }
              : { $case: "check", value: { allowed: true, verdicts: [] } },
        }));
        callback(null, { results });
      },
    });
    const port = await new Promise<number>((resolve, reject) => {
      older.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (error, bound) =>
        error === null ? resolve(bound) : reject(error),
      );
    });
    address = `127.0.0.1:${port}`;
  });
  after(() => {
    older.forceShutdown();
  });

  test("gets the batches as Batch RPCs (UNIMPLEMENTED falls back), the first ones included", async () => {
    await withClient(address, { token: "any" }, async (client) => {
      for (let round = 0; round < 3; ++round) {
        const results = await Promise.all(
          Array.from({ length: 10 }, (_, i) => client.check(roomy(`older-${round}-${i}`))),
        );
        for (const result of results) {
          assert.equal(result.status, undefined);
          assert.equal(result.allowed, true);
        }
      }
    });
    assert.equal(
      received.reduce((sum, n) => sum + n, 0),
      30,
    );
  });
});
