/**
 * `instance: per-session` is bounded (src/hosted/session-instances.ts): a client opening MCP
 * sessions in a loop gets at most `max_instances` instances of a component, and no more than
 * its memory budget; the next session's call is refused with `hosted_session_limit`, naming the
 * component, the bound and the key to raise. Instances of closed sessions are released, so the
 * count and the memory go back down and new sessions are admitted again. An in-process gateway
 * with real SDK clients over Streamable HTTP (one MCP session each), and the HostedServer API.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { beforeAll, describe, expect, it } from "vitest";
import { HostedServer } from "../../src/hosted/server.js";
import { componentServers } from "../../src/mcp/component-upstream.js";
import { httpClient, startGateway, tempDir, until } from "../mcp/helpers.js";
import { CACHE, watComponent } from "./build.js";

let counter: string;

beforeAll(async () => {
  mkdirSync(CACHE, { recursive: true, mode: 0o700 });
  counter = await watComponent("counter");
  process.env.WARDEN_CACHE_DIR = CACHE;
});

type Answer = {
  structuredContent?: unknown;
  isError?: boolean;
  content?: { text?: string }[];
  _meta?: Record<string, { code?: string; details?: Record<string, unknown> }>;
};

const next = async (c: Client) =>
  (await c.callTool({ name: "tools.next", arguments: {} })) as Answer;

/** The gateway's loaded component server of `file` (made at the first session). */
async function serverOf(file: string): Promise<HostedServer> {
  const e = componentServers().find((s) => s.cfg.component === file);
  expect(e, `a component server for ${file}`).toBeDefined();
  return e!.server;
}

async function end(c: Client): Promise<void> {
  await (c.transport as StreamableHTTPClientTransport).terminateSession().catch(() => {});
  await c.close();
}

describe("per-session instances are bounded", () => {
  it("a client opening sessions in a loop gets max_instances instances, then a refusal; closed sessions give them back", {
    timeout: 120_000,
  }, async () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, "policy.yaml"),
      'version: "1.0"\nmcp:\n  transport: { http: true, stdio: true }\n  tools: { allow: ["tools.*"] }\n',
    );
    writeFileSync(
      join(dir, "warden.yaml"),
      `listen: { http: { port: 0 } }\npolicy: ./policy.yaml\nupstreams:\n  - name: counter\n    component: ${JSON.stringify(counter)}\n    instance: per-session\n    max_instances: 3\n`,
    );
    const { gw, url } = await startGateway(join(dir, "warden.yaml"));
    const clients: Client[] = [];
    try {
      const answers: Answer[] = [];
      for (let i = 0; i < 10; i++) {
        const c = await httpClient(url);
        clients.push(c);
        answers.push(await next(c));
        const { count } = (await serverOf(counter)).sessionInstances("counter");
        expect(count).toBeLessThanOrEqual(3);
      }
      const hosted = await serverOf(counter);
      const name = hosted.components[0]!.name;
      expect(name).toBe("counter");
      expect(answers.slice(0, 3).map((a) => a.structuredContent)).toEqual([
        { result: 1 },
        { result: 1 },
        { result: 1 },
      ]);
      for (const a of answers.slice(3)) {
        expect(a.isError).toBe(true);
        expect(a._meta?.["warden/error"]?.code).toBe("hosted_session_limit");
        expect(a.content?.[0]?.text).toContain(`component "${name}"`);
        expect(a.content?.[0]?.text).toContain("upstreams[].max_instances: 3");
      }
      expect(hosted.sessionInstances(name).count).toBe(3);
      expect(hosted.sessionInstances(name).bytes).toBeGreaterThan(0);
      // A session that has an instance keeps it (and its state).
      expect((await next(clients[0]!)).structuredContent).toEqual({ result: 2 });
      // Closing the sessions releases their instances.
      for (const c of clients.splice(0)) await end(c);
      await until(() => hosted.sessionInstances(name).count === 0, 10_000, "instances released");
      expect(hosted.sessionInstances(name).bytes).toBe(0);
      const fresh = await httpClient(url);
      clients.push(fresh);
      expect((await next(fresh)).structuredContent).toEqual({ result: 1 });
    } finally {
      for (const c of clients) await end(c);
      await gw.stop();
    }
  });

  it("the memory budget across a component's instances refuses a new session once reached", {
    timeout: 120_000,
  }, async () => {
    const hosted = await HostedServer.open({
      path: counter,
      instance: "per-session",
      cacheDir: CACHE,
      sessions: { max: 100, memoryBytes: 100 * 1024 },
      pool: { size: 1 },
    });
    try {
      const name = hosted.components[0]!.name;
      const call = (session: string) => hosted.call("tools.next", {}, { session });
      expect((await call("a")).structuredContent).toEqual({ result: 1 });
      // The counter's one page (64 KiB) is measured: a second instance would pass 100 KiB.
      expect(hosted.sessionInstances(name)).toEqual({ count: 1, bytes: 65536 });
      expect((await call("b")).structuredContent).toEqual({ result: 1 });
      const refused = await call("c");
      expect(refused.isError).toBe(true);
      const err = (refused._meta as Answer["_meta"])?.["warden/error"];
      expect(err?.code).toBe("hosted_session_limit");
      expect(err?.details).toMatchObject({ limit: "instances_memory", component: name });
      expect(refused.content[0]!.text).toContain("upstreams[].instances_memory_mb");
      hosted.endSession("a");
      hosted.endSession("b");
      expect(hosted.sessionInstances(name)).toEqual({ count: 0, bytes: 0 });
      expect((await call("c")).structuredContent).toEqual({ result: 1 });
    } finally {
      await hosted.close();
    }
  });
});
