/**
 * The MCP server over a HostedServer (src/hosted/mcp-server.ts) passes each call one signal
 * without combining signals per call: over stdio the SDK's own request signal, for a gateway
 * upstream (`hostCallsInMeta`) its own controller, aborted by the client's cancel or by the
 * session's close. Either way a call still waiting for a core (resources.limits.cpu) leaves the
 * queue and never runs, and a running call still answers. A real SDK client and server over the
 * SDK's in-memory transport, real components in worker threads.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { serveOn } from "../../src/hosted/mcp-server.js";
import { HostedServer } from "../../src/hosted/server.js";
import { tempDir } from "../mcp/helpers.js";
import { CACHE, watComponent } from "./build.js";

let comp: string;
let policy: string;
const open: HostedServer[] = [];

beforeAll(async () => {
  mkdirSync(CACHE, { recursive: true, mode: 0o700 });
  comp = await watComponent("peeksleeper");
  policy = join(tempDir(), "cpu1.yaml");
  writeFileSync(
    policy,
    'version: "1.0"\nresources:\n  limits:\n    cpu: 1\n    execution_time: 1s\n',
  );
});

afterEach(async () => {
  for (const h of open.splice(0)) await h.close();
});

async function session(hostCallsInMeta: boolean) {
  const h = await HostedServer.open({
    path: comp,
    policies: [policy],
    cacheDir: CACHE,
    pool: { size: 2, graceMs: 200 },
  });
  open.push(h);
  const [a, b] = InMemoryTransport.createLinkedPair();
  await serveOn(h, b, hostCallsInMeta ? { hostCallsInMeta: true } : {});
  const c = new Client({ name: "signals-test", version: "1" });
  await c.connect(a);
  return { h, c, name: h.components[0]!.name };
}

async function until(f: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 5));
  }
}

type Answer = { structuredContent?: unknown; _meta?: Record<string, unknown> };

describe.each([
  ["warden serve (the SDK's request signal)", false],
  ["a gateway upstream (its own controller)", true],
])("%s", (_label, meta) => {
  it("a cancelled call waiting for a core leaves the queue and never runs; the running one answers", {
    timeout: 60_000,
  }, async () => {
    const { h, c, name } = await session(meta);
    expect(((await c.callTool({ name: "tools.ok" })) as Answer).structuredContent).toEqual({
      result: 7,
    });
    const slow = c.callTool({ name: "tools.peek-then-sleep" });
    await until(() => h.cpuLoad(name).running === 1);
    const ac = new AbortController();
    const waiting = c.callTool({ name: "tools.ok" }, undefined, { signal: ac.signal });
    await until(() => h.cpuLoad(name).waiting === 1);
    ac.abort();
    await expect(waiting).rejects.toThrow();
    await until(() => h.cpuLoad(name).waiting === 0);
    const s = (await slow) as Answer;
    expect((s._meta?.["warden/error"] as { code?: string } | undefined)?.code).toBe("timeout");
    expect(h.cpuLoad(name)).toEqual({ running: 0, waiting: 0 });
    await c.close();
  });

  it("a session closed while a call waits for a core: the waiting call leaves the queue", {
    timeout: 60_000,
  }, async () => {
    const { h, c, name } = await session(meta);
    await c.callTool({ name: "tools.ok" });
    void c.callTool({ name: "tools.peek-then-sleep" }).catch(() => {});
    await until(() => h.cpuLoad(name).running === 1);
    void c.callTool({ name: "tools.ok" }).catch(() => {});
    await until(() => h.cpuLoad(name).waiting === 1);
    await c.close();
    await until(() => h.cpuLoad(name).waiting === 0);
  });
});
