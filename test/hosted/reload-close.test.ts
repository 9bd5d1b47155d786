/**
 * A gateway config reload that changes or removes a component upstream closes the old component
 * server: its worker threads end and its file watcher is closed (they used to keep running for
 * the life of the process). The gateway's stop closes the ones it still used. An in-process
 * gateway, a real SDK client over HTTP; the components are WAT fixtures built at test time.
 */
import { copyFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { beforeAll, describe, expect, it } from "vitest";
import { componentServers } from "../../src/mcp/component-upstream.js";
import type { Gateway } from "../../src/mcp/gateway.js";
import { httpClient, startGateway, stdioUpstream, tempDir } from "../mcp/helpers.js";
import { hostileAndCounter, TOOLS_POLICY } from "./_hostile-counter.js";

let hostile: string;
let counter: string;

beforeAll(async () => {
  ({ hostile, counter } = await hostileAndCounter());
});

/** A copy of the component `from` (and its WIT) at `dir/name.wasm`. */
function place(dir: string, from: string, name: string): string {
  copyFileSync(from.replace(/\.wasm$/, ".wit"), join(dir, `${name}.wit`));
  copyFileSync(from, join(dir, `${name}.wasm`));
  return join(dir, `${name}.wasm`);
}

function gatewayFiles(dir: string, component: string | undefined, extra = ""): string {
  writeFileSync(join(dir, "policy.yaml"), TOOLS_POLICY);
  const ups =
    component === undefined
      ? `upstreams:\n${stdioUpstream("echo")}`
      : `upstreams:\n  - name: calc\n    component: ${JSON.stringify(component)}\n${extra}`;
  writeFileSync(
    join(dir, "warden.yaml"),
    `listen: { http: { port: 0 } }\npolicy: ./policy.yaml\n${ups}`,
  );
  return join(dir, "warden.yaml");
}

const result = async (c: Client, name: string) =>
  ((await c.callTool({ name, arguments: {} })) as { structuredContent?: { result?: unknown } })
    .structuredContent?.result;

/**
 * A gateway whose upstream `calc` is `dir/first.wasm`, a copy of hostile, and an SDK client over
 * HTTP that has called it once; `fn` runs with them, and both are closed after.
 */
async function withGateway(
  fn: (g: { gw: Gateway; c: Client; dir: string; first: string }) => Promise<void>,
): Promise<void> {
  const dir = tempDir();
  const first = place(dir, hostile, "first");
  const { gw, url } = await startGateway(gatewayFiles(dir, first));
  const c = await httpClient(url, { roots: [], notifications: [] });
  try {
    expect(await result(c, "tools.ok")).toBe(42);
    await fn({ gw, c, dir, first });
  } finally {
    await c.close();
    await gw.stop();
  }
}

/** The loaded component server of `file`, with its worker pool. */
async function serverOf(file: string) {
  const e = componentServers().find((s) => s.cfg.component === file);
  expect(e, `a component server for ${file}`).toBeDefined();
  return { ...e!, hosted: await e!.server };
}

describe("a gateway reload lets go of the component servers it no longer uses", () => {
  it(
    "a changed component upstream: the old server's worker threads end; the new one serves",
    {
      timeout: 120_000,
    },
    () =>
      withGateway(async ({ gw, c, dir, first }) => {
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

        // the open session now reaches the new component: a call sent right after the reload waits
        // for the session to start and initialize it (it used to get upstream_unavailable, "retry
        // shortly")
        const next1 = await result(c, "tools.next");
        expect(next1).toBe(1);
        const next = await serverOf(second);
        expect(next.hosted.pool.workers).toBeGreaterThan(0);

        // the gateway's stop closes the one it still used
        await c.close();
        await gw.stop();
        await next.closed;
        expect(next.hosted.pool.workers).toBe(0);
        expect(componentServers()).toEqual([]);
      }),
  );

  it(
    "calls sent at once after a reload, many at a time: each waits for the new link, none is lost",
    {
      timeout: 120_000,
    },
    () =>
      withGateway(async ({ gw, c, dir }) => {
        // one instance for every call: each call adds one, so 32 calls answer 1..32 exactly once
        gatewayFiles(dir, place(dir, counter, "second"), "    stateful: true\n");
        expect(gw.reload()).toMatchObject({ ok: true });
        const got = await Promise.all(Array.from({ length: 32 }, () => result(c, "tools.next")));
        expect([...got].sort((a, b) => Number(a) - Number(b))).toEqual(
          Array.from({ length: 32 }, (_, i) => i + 1),
        );
      }),
  );

  it(
    "a call waiting for the new link is bounded by its request_timeout_ms: the usual timeout",
    {
      timeout: 120_000,
    },
    () =>
      withGateway(async ({ gw, c, dir }) => {
        // 1 ms: less than starting the new component server and its first worker ever takes
        gatewayFiles(dir, place(dir, counter, "second"), "    request_timeout_ms: 1\n");
        expect(gw.reload()).toMatchObject({ ok: true });
        const e = await c.callTool({ name: "tools.next", arguments: {} }).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect((e as { data?: { warden?: string } } | undefined)?.data?.warden).toBe(
          "upstream_timeout",
        );
      }),
  );

  it(
    "a removed component upstream (a stdio one in its place): its server is closed",
    {
      timeout: 120_000,
    },
    () =>
      withGateway(async ({ gw, dir, first }) => {
        const old = await serverOf(first);
        expect(old.hosted.pool.workers).toBeGreaterThan(0);

        gatewayFiles(dir, undefined);
        expect(gw.reload()).toMatchObject({ ok: true });
        await old.closed;
        expect(old.hosted.pool.workers).toBe(0);
        expect(componentServers()).toEqual([]);
      }),
  );
});
