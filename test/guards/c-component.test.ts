import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { GuardTool } from "../../src/guards/types.js";
import type { ComponentGuard } from "../../src/guards/wasm/component.js";
import { patternGuardLoader } from "./_pattern-guard.js";
import { CACHE, ROOT } from "./build.js";
import { CLANG_MISSING, cPatternGuard } from "./c-build.js";

/**
 * The C example guard (examples/guards/c-pattern-guard): compiled with clang at test time, its
 * canonical ABI written by hand, made a component with jco's componentEmbed + componentNew,
 * transpiled with jco and run by Warden's sandbox like any component guard.
 */
let file = "";
const load = patternGuardLoader("c", () => file);

const tools: GuardTool[] = [
  {
    name: "read_file",
    description: 'Reads a "file".\n\tTabs, quotes \\ and unicode: caf\u00e9 \u{1f600}.',
    inputSchema: { type: "object", properties: { path: { type: "string" } } },
    annotations: { readOnlyHint: true },
    title: "Read",
  },
  { name: "DELETE_file", description: "Removes a file.", inputSchema: { type: "object" } },
  { name: "no_description", inputSchema: {} },
];
const ctx = { serverName: "files" };
const invoke = (args: Record<string, unknown>, name = "query") => ({
  method: "tools/call",
  name,
  arguments: args,
});

if (CLANG_MISSING) console.warn(CLANG_MISSING);

beforeAll(() => {
  if (!CLANG_MISSING) file = cPatternGuard();
}, 180_000);

describe.skipIf(CLANG_MISSING !== undefined)("a C guard as a WebAssembly component", () => {
  it("hides matching tools (ASCII case-insensitive); kept tools come back whole", async () => {
    const p = await load();
    const g = p.guards[0]!.guard as ComponentGuard;
    expect(JSON.parse(g.defaultConfig)).toMatchObject({
      action: "hide",
      patterns: ["delete", "drop table", "rm -rf"],
    });
    expect(JSON.parse(g.settingsSchema)).toMatchObject({ type: "object" });
    const r = p.run("tools_list", tools, ctx);
    expect(r.decision.kind).toBe("modify");
    // Strings with quotes, control characters and non-ASCII text survive the round trip.
    expect(r.payload).toEqual([tools[0], tools[2]]);
    expect(g.logs).toContain("warn: files: 1 tool(s) match a blocked pattern");
    // Nothing matches: allow, the payload untouched.
    expect(p.run("tools_list", [tools[0]!], ctx).decision).toEqual({ kind: "allow" });
  });

  it("reads its config through get-config: block with JSON details, escaped patterns", async () => {
    const p = await load({
      config: { action: "block", patterns: ['READS A "FILE"', "caf\u00e9", "nothing"] },
    });
    expect(p.run("tools_list", tools, ctx).decision).toEqual({
      kind: "deny",
      code: "blocked_tool",
      message: "tools read_file of files match a blocked pattern",
      details: { tools: ["read_file"], patterns: ['reads a "file"'] },
    });
    expect(p.run("tools_list", [tools[1]!], ctx).decision.kind).toBe("allow");
    expect(p.run("tool_invoke", invoke({ q: "un caf\u00e9" }), ctx).decision).toMatchObject({
      kind: "deny",
      code: "blocked_argument",
      message: 'the arguments of query match the blocked pattern "caf\u00e9"',
    });
  });

  it("denies blocked arguments, warns on results, refuses blocked servers", async () => {
    const p = await load({ config: { blocked_servers: ["evil", "worse"] } });
    expect(p.run("tool_invoke", invoke({ sql: "Drop Table users" }), ctx).decision).toEqual({
      kind: "deny",
      code: "blocked_argument",
      message: 'the arguments of query match the blocked pattern "drop table"',
    });
    expect(p.run("tool_invoke", invoke({ sql: "select 1" }), ctx).decision.kind).toBe("allow");
    const result = { content: [{ type: "text", text: "then rm -rf /" }] };
    expect(
      p.run("response", { method: "tools/call", name: "sh", result, isError: false }, ctx).decision,
    ).toEqual({ kind: "warn", messages: ['the result of sh matches "rm -rf"'] });
    const server = (name: string) => ({
      name,
      transport: "stdio" as const,
      command: "x",
      args: [],
    });
    expect(p.run("connection", server("worse"), ctx).decision).toEqual({
      kind: "deny",
      code: "server_blocked",
      message: "server worse is blocked by the pattern guard",
    });
    expect(p.run("connection", server("files"), ctx).decision.kind).toBe("allow");
  });

  it("keeps per-tool call counts in its instance (per server and tool)", async () => {
    const p = await load({ config: { max_calls_per_tool: 2 } });
    const call = (server: string, tool: string) =>
      p.run("tool_invoke", invoke({ path: "/a" }, tool), { serverName: server }).decision;
    expect(call("files", "read").kind).toBe("allow");
    expect(call("files", "read").kind).toBe("allow");
    expect(call("other", "read").kind).toBe("allow");
    const d = call("files", "read");
    expect(d).toMatchObject({
      kind: "deny",
      code: "too_many_calls",
      message: "read was called 3 times (limit 2)",
      details: { calls: 3 },
    });
    const at = (d as unknown as { details: { at: number } }).details.at;
    expect(Math.abs(at - Date.now())).toBeLessThan(60_000); // get-time is Unix ms
    expect((p.guards[0]!.guard as ComponentGuard).instances).toBe(1);
  });

  it("a bad setting is the guard's own err: guard_failed, failure_mode applies, instance kept", async () => {
    const p = await load({ config: { action: "nope" } });
    const r = p.run("tools_list", tools, ctx);
    expect(r.decision).toMatchObject({ kind: "deny", code: "guard_failed" });
    expect(r.trail[0]!.message).toContain(
      "returned an error: config action: expected hide or block",
    );
    const open = await load({ failure_mode: "fail_open", config: { patterns: "[1]" } });
    expect(open.run("tool_invoke", invoke({}), ctx).decision.kind).toBe("warn");
    expect((p.guards[0]!.guard as ComponentGuard).instances).toBe(1);
  });

  it("fuel and memory limits hold inside the component", async () => {
    const fuel = await load({ limits: { max_fuel: 10 } });
    expect(fuel.run("tools_list", tools, ctx).decision).toMatchObject({
      kind: "deny",
      details: { failure: "fuel_exhausted" },
    });
    // The module's static data alone needs more than one page.
    const refused = await load({ limits: { max_memory_bytes: 65536 } }).catch((e: unknown) => e);
    // The sandbox's code, possibly as the cause of the loader's guard_load_failed.
    const codes = [refused, (refused as { cause?: unknown }).cause].map(
      (e) => (e as { code?: string } | undefined)?.code,
    );
    expect(codes).toContain("memory_exceeded");
    expect(String(refused)).toContain("exceeds memory_limit_bytes=65536");
    // A listing bigger than the memory limit cannot be copied into the guard: it fails closed.
    const small = await load({ limits: { max_memory_bytes: 1024 * 1024 } });
    const big = [{ name: "big", description: "x".repeat(2 * 1024 * 1024), inputSchema: {} }];
    expect(small.run("tools_list", big, ctx).decision).toMatchObject({
      kind: "deny",
      code: "guard_failed",
    });
  });

  it("warden guard test runs it and prints the decision", () => {
    const r = spawnSync(
      process.execPath,
      [
        join(ROOT, "dist", "cli", "main.js"),
        "guard",
        "test",
        file,
        "--phase",
        "tool_invoke",
        "--input",
        '{"name":"q","arguments":{"sql":"DROP TABLE x"}}',
        "--set",
        'patterns=["drop table"]',
        "--cache-dir",
        CACHE,
      ],
      { encoding: "utf8", timeout: 60_000 },
    );
    expect(r.stderr).toBe("");
    expect(r.status).toBe(1);
    expect(JSON.parse(r.stdout).decision).toEqual({
      kind: "deny",
      code: "blocked_argument",
      message: 'the arguments of q match the blocked pattern "drop table"',
    });
  });
});
