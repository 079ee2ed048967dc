// TLS and mTLS to the real binary, with certificates made by openssl here.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { GatehouseClient } from "../src/index.js";
import { GatehouseServer } from "./server.js";

const dir = mkdtempSync(join(tmpdir(), "gatehouse-node-tls-"));
const file = (name: string) => join(dir, name);

function openssl(...args: string[]): void {
  execFileSync("openssl", args, { stdio: "pipe" });
}

function issue(name: string, san: string): void {
  openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", `/CN=${name}`,
    "-keyout", file(`${name}.key`), "-out", file(`${name}.csr`));
  writeFileSync(file(`${name}.ext`), `subjectAltName=${san}\n`);
  openssl("x509", "-req", "-in", file(`${name}.csr`), "-CA", file("ca.pem"), "-CAkey", file("ca.key"),
    "-CAcreateserial", "-days", "2", "-extfile", file(`${name}.ext`), "-out", file(`${name}.pem`));
}

let server: GatehouseServer;
before(async () => {
  openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
    "-subj", "/CN=test-ca", "-keyout", file("ca.key"), "-out", file("ca.pem"));
  issue("server", "DNS:gatehouse.test,IP:127.0.0.1");
  issue("allowed", "URI:spiffe://gatehouse.test/api");
  issue("other", "URI:spiffe://gatehouse.test/intruder");
  server = await GatehouseServer.start({
    args: [
      `--tls_cert_file=${file("server.pem")}`,
      `--tls_key_file=${file("server.key")}`,
      `--tls_client_ca_file=${file("ca.pem")}`,
      "--tls_client_allowlist=spiffe://gatehouse.test/api",
    ],
  });
});
after(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

const request = { subjects: [{ policy: "login_ip", key: { ip: "192.0.2.99" } }] };

test("mTLS with an allowed certificate gets answers; the server name is checked", async () => {
  const client = new GatehouseClient({
    address: server.address,
    token: server.token,
    tls: {
      ca: readFileSync(file("ca.pem")),
      cert: readFileSync(file("allowed.pem")),
      key: readFileSync(file("allowed.key")),
      serverName: "gatehouse.test",
    },
  });
  const result = await client.check(request, { deadlineMs: 5000 });
  await client.close();
  assert.equal(result.status, undefined);
  assert.equal(result.verdicts[0]?.count, 1);
});

test("a certificate outside the allowlist is refused: PERMISSION_DENIED, not degraded", async () => {
  const client = new GatehouseClient({
    address: server.address,
    token: server.token,
    failureMode: "open",
    tls: {
      ca: readFileSync(file("ca.pem")),
      cert: readFileSync(file("other.pem")),
      key: readFileSync(file("other.key")),
      serverName: "gatehouse.test",
    },
  });
  const result = await client.check(request, { deadlineMs: 5000 });
  await client.close();
  assert.equal(result.status?.name, "PERMISSION_DENIED");
  assert.equal(result.degraded, false);
  assert.equal(result.allowed, true);
});

test("plaintext to a TLS port, or an unknown CA, is degraded: no answer", async () => {
  for (const tls of [false, { serverName: "gatehouse.test" }]) {
    const client = new GatehouseClient({
      address: server.address,
      token: server.token,
      failureMode: "closed",
      tls,
    });
    const result = await client.check(request, { deadlineMs: 2000 });
    await client.close();
    assert.equal(result.degraded, true, JSON.stringify(result.status));
    assert.equal(result.allowed, false);
  }
});
