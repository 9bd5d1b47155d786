// Two real gateways (HTTP fronts, real fixture upstreams) on one real redis-server: one
// `max_calls_per_minute` enforced exactly across both by a round-robin client; Redis stopped:
// limited calls refused with state_unavailable (naming the URL, audited), unlimited calls
// served; Redis back: the gateways recover by themselves and count exactly again.
import { join } from "node:path";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { McpError } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Gateway } from "../../src/mcp/gateway.js";
import { auditLines } from "../mcp/audit-schema.js";
import {
  httpClient,
  startGateway,
  stdioUpstream,
  tempDir,
  writeGatewayFiles,
} from "../mcp/helpers.js";
import { RedisServer } from "./redis-server.js";

const POLICY = `version: "1.0"
mcp:
  transport: { stdio: true, http: true }
  tools:
    allow:
      - name: "add"
        max_calls_per_minute: 3
      - "echo"
`;

let redis: RedisServer;
const gws: Gateway[] = [];
const clients: Client[] = [];
const audits: string[] = [];

async function denied(p: Promise<unknown>): Promise<McpError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(McpError);
  return e as McpError;
}

beforeAll(async () => {
  redis = await RedisServer.start();
  for (const i of [0, 1]) {
    const dir = tempDir();
    const audit = join(dir, "audit.jsonl");
    audits.push(audit);
    const file = writeGatewayFiles(
      dir,
      `listen: { http: { port: 0 } }\npolicy: policy.yaml\naudit: { file: ${JSON.stringify(audit)} }\nstate:\n  dir: ${JSON.stringify(dir)}\n  redis: { url: ${JSON.stringify(`${redis.url}/0`)}, key_prefix: "gw-test:", command_timeout_ms: 2000 }\nupstreams:\n${stdioUpstream(`s${i}`, [], false)}`,
      POLICY,
    );
    const { gw, url } = await startGateway(file);
    gws.push(gw);
    expect(await gw.redis?.waitUp(10_000)).toBe(true);
    clients.push(await httpClient(url));
  }
}, 60_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close().catch(() => {})));
  await Promise.all(gws.map((g) => g.stop()));
  await redis?.close();
});

const add = (i: number) => clients[i % 2]!.callTool({ name: "add", arguments: { a: i, b: 1 } });

describe("rate limits shared by two gateways through Redis", () => {
  it("a round-robin client gets exactly max_calls_per_minute across both gateways", async () => {
    for (let i = 0; i < 3; i++) expect((await add(i)).isError).not.toBe(true);
    for (let i = 3; i < 6; i++) {
      const e = await denied(add(i));
      expect(e.data).toMatchObject({ warden: "tool_denied", decision: "rate_limited" });
      expect(e.message).toMatch(/called over 3 times in 60 s/);
    }
    // each gateway alone has allowed fewer than 3: only the shared window can have refused
    const allowed = audits.map(
      (f) =>
        auditLines(f).filter(
          (l) => l.name === "add" && l.phase === "decision" && l.decision === "allow",
        ).length,
    );
    expect(allowed[0]! + allowed[1]!).toBe(3);
    expect(Math.max(...allowed)).toBeLessThan(3);
  });

  it("Redis down: a limited call is refused with state_unavailable and audited; unlimited calls pass; back: recovers", async () => {
    await redis.stop();
    for (const i of [0, 1]) {
      const e = await denied(clients[i]!.callTool({ name: "add", arguments: { a: 1, b: 2 } }));
      expect(e.code).toBe(-32003);
      expect(e.data).toMatchObject({ warden: "state_unavailable", by: "state" });
      expect(e.message).toContain(`${redis.url}/0`);
      expect(e.message).toMatch(/Start Redis or fix state.redis/);
      // no shared state needed: served
      const ok = await clients[i]!.callTool({ name: "echo", arguments: { text: "hi" } });
      expect(ok.isError).not.toBe(true);
      const line = auditLines(audits[i]!).findLast((l) => l.name === "add");
      expect(line).toMatchObject({
        phase: "decision",
        decision: "deny",
        code: "state_unavailable",
      });
    }
    await redis.start();
    for (const g of gws) expect(await g.redis?.waitUp(30_000)).toBe(true);
    // a fresh Redis (no persistence): a fresh window, counted exactly again across both
    for (let i = 0; i < 3; i++) expect((await add(i)).isError).not.toBe(true);
    const e = await denied(add(3));
    expect(e.data).toMatchObject({ decision: "rate_limited" });
  });
});
