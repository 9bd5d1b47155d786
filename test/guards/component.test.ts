import { beforeAll, describe, expect, it } from "vitest";
import type { GuardTool } from "../../src/guards/types.js";
import type { ComponentGuard } from "../../src/guards/wasm/component.js";
import { patternGuardLoader } from "./_pattern-guard.js";
import { jsPatternGuard } from "./build.js";

/**
 * The JavaScript example guard (examples/guards/js-pattern-guard), componentized with
 * componentize-js at test time, transpiled with jco, its core modules run by Warden's sandbox.
 */
let file = "";
const load = patternGuardLoader("js", () => file);

const tools: GuardTool[] = [
  {
    name: "read_file",
    description: "Reads a file.",
    inputSchema: { type: "object" },
    annotations: { readOnlyHint: true },
  },
  { name: "delete_file", description: "Removes a file.", inputSchema: { type: "object" } },
];
const ctx = { serverName: "files" };

beforeAll(() => {
  file = jsPatternGuard();
}, 300_000);

describe("a JavaScript guard as a WebAssembly component", () => {
  it("loads, reads its settings through get-config, and hides matching tools (modify)", async () => {
    const p = await load({});
    const g = p.guards[0]!.guard as ComponentGuard;
    expect(JSON.parse(g.defaultConfig)).toMatchObject({ action: "hide" });
    expect(JSON.parse(g.settingsSchema)).toMatchObject({ type: "object" });
    const r = p.run("tools_list", tools, ctx);
    expect(r.decision.kind).toBe("modify");
    // The kept tool comes back whole (schema and annotations included).
    expect(r.payload).toEqual([tools[0]]);
    expect(g.logs.some((l) => l.startsWith("warn: files: 1 tool(s) match"))).toBe(true);
  }, 120_000);

  it("denies with code, message and JSON details; its config comes from warden.yaml", async () => {
    const p = await load({ config: { action: "block", patterns: ["read"] } });
    const r = p.run("tools_list", tools, ctx);
    expect(r.decision).toEqual({
      kind: "deny",
      code: "blocked_tool",
      message: "tools read_file of files match a blocked pattern",
      details: { tools: ["read_file"], patterns: ["read"] },
    });
    expect(
      p.run(
        "response",
        {
          method: "tools/call",
          name: "x",
          result: { content: [{ type: "text", text: "read me" }] },
          isError: false,
        },
        ctx,
      ).decision,
    ).toEqual({
      kind: "warn",
      messages: ['the result of x matches "read"'],
    });
    expect(
      p.run("connection", { name: "files", transport: "stdio", command: "x" }, ctx).decision.kind,
    ).toBe("allow");
  }, 60_000);

  it("keeps state between invocations within its instance", async () => {
    const p = await load({ config: { max_calls_per_tool: 2 } });
    const call = () =>
      p.run(
        "tool_invoke",
        { method: "tools/call", name: "read_file", arguments: { path: "/a" } },
        ctx,
      ).decision;
    expect(call().kind).toBe("allow");
    expect(call().kind).toBe("allow");
    expect(call()).toMatchObject({
      kind: "deny",
      code: "too_many_calls",
      message: "read_file was called 3 times (limit 2)",
    });
    expect((p.guards[0]!.guard as ComponentGuard).instances).toBe(1);
  }, 60_000);

  it("a catastrophic regex inside the guard is stopped at timeout_ms; a fresh instance takes over", async () => {
    const p = await load({ timeout_ms: 50, config: { regex_patterns: ["^(a+)+$"] } });
    // Exponential backtracking: ~60 s on this machine without a limit.
    const evil = [{ name: `${"a".repeat(28)}!`, inputSchema: {} }];
    const r = p.run("tools_list", evil, ctx);
    expect(r.decision).toMatchObject({
      kind: "deny",
      code: "guard_failed",
      details: { failure: "timeout", failure_mode: "fail_closed" },
    });
    expect(r.trail[0]!.message).toContain("timeout_ms=50");
    const g = p.guards[0]!.guard as ComponentGuard;
    for (let i = 0; i < 200 && g.instances < 2; i++)
      await new Promise((res) => setTimeout(res, 25));
    expect(g.instances).toBe(2);
    expect(p.run("tools_list", [tools[0]!], ctx).decision.kind).toBe("allow");
  }, 60_000);

  it("fuel limits hold inside the component", async () => {
    const p = await load({ limits: { max_fuel: 2000 } });
    expect(p.run("tools_list", tools, ctx).decision).toMatchObject({
      kind: "deny",
      details: { failure: "fuel_exhausted" },
    });
  }, 60_000);

  it("a memory limit below what the guard declares refuses it at load", async () => {
    const refused = await load({ limits: { max_memory_bytes: 4 * 1024 * 1024 } }).catch(
      (e: unknown) => e,
    );
    // The sandbox's code, as the cause of the loader's guard_load_failed (which names the entry).
    expect(refused).toMatchObject({
      code: "guard_load_failed",
      cause: { code: "memory_exceeded" },
    });
    expect(String(refused)).toContain("exceeds memory_limit_bytes=4194304");
  }, 60_000);
});
