/**
 * A gateway config reload that changes or removes a component upstream closes the old component
 * server: its worker threads end and its file watcher is closed (they used to keep running for
 * the life of the process). The gateway's stop closes the ones it still used. An in-process
 * gateway, a real SDK client over HTTP; the components are WAT fixtures built at test time.
 */
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { beforeAll, describe, expect, it } from "vitest";
import { componentServers } from "../../src/mcp/component-upstream.js";
import { httpClient, startGateway, stdioUpstream, tempDir } from "../mcp/helpers.js";
import { CACHE, watComponent } from "./build.js";

let hostile: string;
let counter: string;

beforeAll(async () => {
  mkdirSync(CACHE, { recursive: true, mode: 0o700 });
  hostile = await watComponent("hostile");
  counter = await watComponent("counter");
  process.env.WARDEN_CACHE_DIR = CACHE;
});

/** A copy of the component `from` (and its WIT) at `dir/name.wasm`. */
function place(dir: string, from: string, name: string): string {
  copyFileSync(from.replace(/\.wasm$/, ".wit"), join(dir, `${name}.wit`));
  copyFileSync(from, join(dir, `${name}.wasm`));
  return join(dir, `${name}.wasm`);
}

function gatewayFiles(dir: string, component: string | undefined): string {
  writeFileSync(
    join(dir, "policy.yaml"),
    'version: "1.0"\nmcp:\n  transport: { http: true, stdio: true }\n  tools: { allow: ["tools.*"] }\n',
  );
  const ups =
    component === undefined
      ? `upstreams:\n${stdioUpstream("echo")}`
      : `upstreams:\n  - name: calc\n    component: ${JSON.stringify(component)}\n`;
  writeFileSync(
    join(dir, "warden.yaml"),
    `listen: { http: { port: 0 } }\npolicy: ./policy.yaml\n${ups}`,
  );
  return join(dir, "warden.yaml");
}

const result = async (c: Client, name: string) =>
  ((await c.callTool({ name, arguments: {} })) as { structuredContent?: { result?: unknown } })
    .structuredContent?.result;

/** The loaded component server of `file`, with its worker pool. */
async function serverOf(file: string) {
  const e = componentServers().find((s) => s.cfg.component === file);
  expect(e, `a component server for ${file}`).toBeDefined();
  return { ...e!, hosted: await e!.server };
}

describe("a gateway reload lets go of the component servers it no longer uses", () => {
  it("a changed component upstream: the old server's worker threads end; the new one serves", {
    timeout: 120_000,
  }, async () => {
    const dir = tempDir();
    const first = place(dir, hostile, "first");
    const config = gatewayFiles(dir, first);
    const { gw, url } = await startGateway(config);
    const c = await httpClient(url, { roots: [], notifications: [] });
    try {
      expect(await result(c, "tools.ok")).toBe(42);
      const old = await serverOf(first);
      expect(old.hosted.pool.workers).toBeGreaterThan(0);

      const second = place(dir, counter, "second");
      gatewayFiles(dir, second);
      expect(gw.reload()).toMatchObject({ ok: true });
      // resolves once the old server is closed (never, before the fix)
      await old.closed;
      expect(old.hosted.pool.workers).toBe(0);
      await expect(old.hosted.pool.call("tools", "tools.ok", {}, 1000)).rejects.toMatchObject({
        code: "hosted_closed",
      });
      expect(componentServers().some((s) => s.cfg.component === first)).toBe(false);

      // the open session now reaches the new component. Until the session has started and
      // initialized it, a call gets upstream_unavailable ("retry shortly"): retried here, as a
      // client would (a notifications/tools/list_changed may come first: the old component
      // server watches its folder, where the new file was written)
      let next1: unknown;
      for (let i = 0; ; i++) {
        try {
          next1 = await result(c, "tools.next");
          break;
        } catch (e) {
          if (i >= 300 || !/upstream_unavailable|is unavailable/.test(String(e))) throw e;
          await new Promise((r) => setTimeout(r, 50));
        }
      }
      expect(next1).toBe(1);
      const next = await serverOf(second);
      expect(next.hosted.pool.workers).toBeGreaterThan(0);

      // the gateway's stop closes the one it still used
      await c.close();
      await gw.stop();
      await next.closed;
      expect(next.hosted.pool.workers).toBe(0);
      expect(componentServers()).toEqual([]);
    } finally {
      await c.close();
      await gw.stop();
    }
  });

  it("a removed component upstream (a stdio one in its place): its server is closed", {
    timeout: 120_000,
  }, async () => {
    const dir = tempDir();
    const only = place(dir, hostile, "only");
    const config = gatewayFiles(dir, only);
    const { gw, url } = await startGateway(config);
    const c = await httpClient(url, { roots: [], notifications: [] });
    try {
      expect(await result(c, "tools.ok")).toBe(42);
      const old = await serverOf(only);
      expect(old.hosted.pool.workers).toBeGreaterThan(0);

      gatewayFiles(dir, undefined);
      expect(gw.reload()).toMatchObject({ ok: true });
      await old.closed;
      expect(old.hosted.pool.workers).toBe(0);
      expect(componentServers()).toEqual([]);
    } finally {
      await c.close();
      await gw.stop();
    }
  });
});
