// The Express and Hono middleware through real HTTP requests to real apps,
// the Gatehouse behind them the real binary.

import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { after, before, describe, test } from "node:test";
import { serve } from "@hono/node-server";
import express from "express";
import { Hono } from "hono";
import { expressMiddleware, GatehouseClient, type GatehouseClientOptions } from "../src/index.js";
import { honoMiddleware } from "../src/middleware/hono.js";
import { GatehouseServer } from "./server.js";

let gatehouse: GatehouseServer;
before(async () => {
  gatehouse = await GatehouseServer.start();
});
after(async () => {
  await gatehouse.close();
});

type AppKind = "express" | "hono";

interface App {
  readonly url: string;
  readonly client: GatehouseClient;
  close(): Promise<void>;
}

// An app with /login throttled by `api_ip` (2 per minute) on the peer's
// address, or on the X-Test-Ip header when keyed that way.
async function startApp(kind: AppKind, options: Partial<GatehouseClientOptions>, keyOnHeader: boolean): Promise<App> {
  // A generous deadline unless the test sets one: the machine may be loaded.
  const client = new GatehouseClient({
    address: gatehouse.address,
    token: gatehouse.token,
    deadlineMs: 10_000,
    ...options,
  });
  let server: Server;
  if (kind === "express") {
    const app = express();
    app.post(
      "/login",
      expressMiddleware({
        client,
        policy: "api_ip",
        ...(keyOnHeader ? { key: (req) => ({ ip: String(req.headers["x-test-ip"]) }) } : {}),
      }),
      (_req, res) => {
        res.send("welcome");
      },
    );
    server = await new Promise<Server>((resolve) => {
      const listening: Server = app.listen(0, "127.0.0.1", () => resolve(listening));
    });
  } else {
    const app = new Hono();
    app.post(
      "/login",
      honoMiddleware({
        client,
        policy: "api_ip",
        ...(keyOnHeader ? { key: (c) => ({ ip: c.req.header("x-test-ip") ?? "" }) } : {}),
      }),
      (c) => c.text("welcome"),
    );
    server = await new Promise<Server>((resolve) => {
      const listening = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, () => resolve(listening as Server));
    });
  }
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/login`,
    client,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await client.close();
    },
  };
}

async function post(url: string, ip?: string): Promise<Response> {
  return fetch(url, { method: "POST", headers: ip === undefined ? {} : { "x-test-ip": ip } });
}

for (const kind of ["express", "hono"] as const) {
  describe(kind, () => {
    test("allows up to the limit with RateLimit headers, then 429 with Retry-After", async () => {
      const app = await startApp(kind, {}, true);
      try {
        const ip = kind === "express" ? "192.0.2.10" : "192.0.2.20";
        for (const remaining of [1, 0]) {
          const response = await post(app.url, ip);
          assert.equal(response.status, 200);
          assert.equal(await response.text(), "welcome");
          assert.equal(response.headers.get("ratelimit-policy"), '"api_ip";q=2;w=60');
          assert.match(response.headers.get("ratelimit") ?? "", new RegExp(`^"api_ip";r=${remaining};t=\\d+$`));
          assert.equal(response.headers.get("retry-after"), null);
        }
        const denied = await post(app.url, ip);
        assert.equal(denied.status, 429);
        const retryAfter = Number(denied.headers.get("retry-after"));
        assert.ok(retryAfter >= 1 && retryAfter <= 61, `Retry-After ${retryAfter}`);
        assert.match(denied.headers.get("ratelimit") ?? "", /^"api_ip";r=0;t=\d+$/);
        assert.equal(denied.headers.get("ratelimit-policy"), '"api_ip";q=2;w=60');
        // Another IP is not affected.
        assert.equal((await post(app.url, kind === "express" ? "192.0.2.11" : "192.0.2.21")).status, 200);
      } finally {
        await app.close();
      }
    });

    test("keys on the peer address by default", async () => {
      const app = await startApp(kind, {}, false);
      try {
        // The loopback peer; other tests of this file never key on it with
        // this app kind, and the two kinds share it: so count from where it is.
        const peek = await app.client.peek({ subjects: [{ policy: "api_ip", key: { ip: "127.0.0.1" } }] });
        const before = peek.verdicts[0]?.count ?? 0;
        const statuses: number[] = [];
        for (let i = before; i < 3; ++i) statuses.push((await post(app.url)).status);
        assert.equal(statuses.at(-1), 429);
        const after = await app.client.peek({ subjects: [{ policy: "api_ip", key: { ip: "127.0.0.1" } }] });
        assert.equal(after.verdicts[0]?.count, 2);
      } finally {
        await app.client.reset({ subjects: [{ policy: "api_ip", key: { ip: "127.0.0.1" } }] });
        await app.close();
      }
    });

    test("an attacker-chosen invalid key value is denied, not let through", async () => {
      const app = await startApp(kind, { failureMode: "open" }, true);
      try {
        const response = await post(app.url, "not-an-ip");
        assert.equal(response.status, 429);
        assert.equal(response.headers.get("ratelimit"), null);
      } finally {
        await app.close();
      }
    });

    for (const failureMode of ["open", "closed"] as const) {
      test(`Gatehouse down: failure mode ${failureMode}`, async () => {
        const app = await startApp(kind, { failureMode, deadlineMs: 1000 }, true);
        try {
          await gatehouse.stop();
          const response = await post(app.url, "192.0.2.30");
          assert.equal(response.status, failureMode === "open" ? 200 : 503);
          assert.equal(response.headers.get("ratelimit"), null);
          if (failureMode === "closed") assert.equal(response.headers.get("retry-after"), "1");
        } finally {
          await gatehouse.restart();
          await app.close();
        }
      });
    }
  });
}
