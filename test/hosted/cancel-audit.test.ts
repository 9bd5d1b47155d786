/**
 * Host calls of a tool call that does not end answered are audited: a component upstream's
 * tools/call that the client cancels (notifications/cancelled), that the gateway times out
 * (request_timeout_ms), or that hits the component's own time limit. The component makes one
 * judged host call (get-environment), then waits an hour in another (a clocks pollable): every
 * host call that reached the host leaves its `host_call` line with the tools/call's call_id,
 * and the tools/call's outcome line says `cancelled` or `timeout`. A real SDK client through
 * `warden gateway` over stdio. A call cut off by its session's close (HTTP DELETE, an
 * in-process gateway over Streamable HTTP) is audited the same way, outcome `cut_off`.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import type { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI, httpClient, tempDir, until } from "../mcp/helpers.js";
import { auditOf, hostCallsIn, sleeperGateway, slowSleeping } from "./_sleeper-gateway.js";
import { CACHE, watComponent } from "./build.js";

let dir: string;
let c: Client;

/** The call_id of the last outcome line of `name`, and its outcome. */
const lastOutcome = (name: string) =>
  auditOf(dir)
    .filter((l) => l.phase === "outcome" && l.name === name)
    .at(-1);

const hostCallsOf = (callId: unknown) => hostCallsIn(dir, callId);

beforeAll(async () => {
  mkdirSync(CACHE, { recursive: true, mode: 0o700 });
  const comp = await watComponent("peeksleeper");
  dir = tempDir();
  writeFileSync(
    join(dir, "policy.yaml"),
    'version: "1.0"\nmcp:\n  transport: { stdio: true }\n  tools:\n    allow: ["*"]\nresources:\n  limits:\n    execution_time: 2s\n',
  );
  writeFileSync(
    join(dir, "warden.yaml"),
    [
      "listen: stdio",
      "policy: ./policy.yaml",
      "audit: { file: ./audit.jsonl }",
      "upstreams:",
      "  - name: slow",
      `    component: ${JSON.stringify(comp)}`,
      "  - name: hurried",
      `    component: ${JSON.stringify(comp)}`,
      "    request_timeout_ms: 300",
      "",
    ].join("\n"),
  );
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [CLI, "gateway", "--config", join(dir, "warden.yaml")],
    env: { ...process.env, WARDEN_CACHE_DIR: CACHE } as Record<string, string>,
    stderr: "pipe",
  });
  c = new Client({ name: "cancel-audit-test", version: "1" });
  await c.connect(transport);
}, 120_000);

afterAll(async () => {
  await c?.close();
});

describe("host calls of a tool call that did not end answered", () => {
  it("a call the client cancelled: outcome cancelled, its host call audited", {
    timeout: 60_000,
  }, async () => {
    const { tools } = await c.listTools();
    const ok = tools.find((t) => t.name.startsWith("slow") && t.name.endsWith("tools.ok"))!.name;
    const sleep = tools.find(
      (t) => t.name.startsWith("slow") && t.name.endsWith("peek-then-sleep"),
    )!.name;
    // A warm worker: the next call reaches its host calls at once.
    expect((await c.callTool({ name: ok, arguments: {} })).structuredContent).toEqual({
      result: 7,
    });
    const ac = new AbortController();
    const call = c.callTool({ name: sleep, arguments: {} }, undefined, { signal: ac.signal });
    await new Promise((r) => setTimeout(r, 500));
    ac.abort("the user gave up");
    await expect(call).rejects.toThrow();
    await until(() => lastOutcome(sleep)?.outcome === "cancelled", 10_000, "the outcome line");
    const id = lastOutcome(sleep)!.call_id;
    // The component's own deadline (2 s + grace) ends the call; its host call is then audited.
    await until(() => hostCallsOf(id).length > 0, 20_000, "the host_call line");
    expect(hostCallsOf(id)[0]).toMatchObject({
      phase: "event",
      kind: "host_call",
      decision: "allow",
      host: { interface: "wasi:cli/environment", function: "get-environment" },
    });
  });

  it("a call that hit the component's deadline: outcome timeout, its host call audited", {
    timeout: 60_000,
  }, async () => {
    const { tools } = await c.listTools();
    const sleep = tools.find(
      (t) => t.name.startsWith("slow") && t.name.endsWith("peek-then-sleep"),
    )!.name;
    const r = (await c.callTool({ name: sleep, arguments: {} })) as {
      isError?: boolean;
      _meta?: Record<string, { code?: string }>;
    };
    expect(r.isError).toBe(true);
    expect(r._meta?.["warden/error"]?.code).toBe("timeout");
    await until(() => lastOutcome(sleep)?.outcome === "timeout", 10_000, "the outcome line");
    const id = lastOutcome(sleep)!.call_id;
    expect(hostCallsOf(id).map((l) => l.host?.function)).toContain("get-environment");
  });

  it("a call the gateway timed out (request_timeout_ms): outcome timeout, host call audited", {
    timeout: 60_000,
  }, async () => {
    const { tools } = await c.listTools();
    const ok = tools.find((t) => t.name.startsWith("hurried") && t.name.endsWith("tools.ok"))!.name;
    const sleep = tools.find(
      (t) => t.name.startsWith("hurried") && t.name.endsWith("peek-then-sleep"),
    )!.name;
    // Warm: until a call is answered within the 300 ms (a cold worker may take longer to
    // start). A call timed out while it still waits for a busy worker leaves the queue and
    // never runs (no host calls to audit), so the call below must find a warm, idle worker.
    for (let i = 0; i < 40; i++)
      if (
        await c.callTool({ name: ok, arguments: {} }).then(
          () => true,
          () => false,
        )
      )
        break;
    await expect(c.callTool({ name: sleep, arguments: {} })).rejects.toThrow(/300 ms/);
    await until(() => lastOutcome(sleep)?.outcome === "timeout", 10_000, "the outcome line");
    const out = lastOutcome(sleep)!;
    expect(out.error).toMatchObject({ code: -32001 });
    await until(() => hostCallsOf(out.call_id).length > 0, 20_000, "the host_call line");
    expect(hostCallsOf(out.call_id)[0]!.host).toMatchObject({ function: "get-environment" });
  });
});

describe("host calls of a tool call cut off by its session's close", () => {
  it("a session closed (HTTP DELETE) mid-call: outcome cut_off, its host call audited", {
    timeout: 60_000,
  }, async () => {
    const { gw, url, dir: d } = await sleeperGateway();
    try {
      const h = await httpClient(url);
      const { tools } = await h.listTools();
      const ok = tools.find((t) => t.name.endsWith("tools.ok"))!.name;
      const sleep = tools.find((t) => t.name.endsWith("peek-then-sleep"))!.name;
      await h.callTool({ name: ok, arguments: {} });
      const sleeping = slowSleeping();
      const call = h.callTool({ name: sleep, arguments: {} }).catch((e: unknown) => e);
      // The component has made its host call and sleeps; the session closes under it.
      await sleeping;
      await (h.transport as StreamableHTTPClientTransport).terminateSession();
      await h.close();
      await call;
      const out = () => auditOf(d).find((l) => l.phase === "outcome" && l.name === sleep);
      await until(() => out()?.outcome === "cut_off", 10_000, "the cut_off outcome line");
      const id = out()!.call_id;
      // The component's own deadline ends the call; its host calls are audited then.
      await until(() => hostCallsIn(d, id).length > 0, 20_000, "the host_call line");
      expect(hostCallsIn(d, id)[0]).toMatchObject({
        phase: "event",
        decision: "allow",
        host: { interface: "wasi:cli/environment", function: "get-environment" },
      });
    } finally {
      await gw.stop();
    }
  });
});
