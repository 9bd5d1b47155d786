/**
 * Guards follow config reloads and their module files, with real MCP servers and real SDK
 * clients: open sessions are told to list again and the tools they hold are judged by the new
 * guards; a guards section or a module that does not load is rejected with its location, and
 * the old guards keep running.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { ToolListChangedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import { afterEach, describe, expect, it } from "vitest";
import wabtInit from "wabt";
import { followGuardReloads } from "../../src/mcp/guards-hook.js";
import { gatewayWith, type Running, textOf, upstream } from "./gateway-helpers.js";

interface GuardsEvent {
  ok: boolean;
  trigger: "config" | "module";
  guards?: string[];
  error?: Error;
}

/** Collect the gateway's "guards" events; `wait(n)` until n arrived. */
function events(g: Running) {
  const list: GuardsEvent[] = [];
  g.gw.on("guards", (e: GuardsEvent) => list.push(e));
  return {
    list,
    async wait(n: number) {
      for (let i = 0; i < 400 && list.length < n; i++) await new Promise((r) => setTimeout(r, 25));
      expect(list).toHaveLength(n);
      return list[n - 1]!;
    },
  };
}

/** Count tools/list_changed notifications a client receives. */
function listChanged(c: Client) {
  const seen = { n: 0 };
  c.setNotificationHandler(ToolListChangedNotificationSchema, () => {
    seen.n++;
  });
  return seen;
}

async function until(cond: () => boolean, what: string) {
  for (let i = 0; i < 400 && !cond(); i++) await new Promise((r) => setTimeout(r, 25));
  expect(cond(), what).toBe(true);
}

let g: Running | undefined;
let stop: (() => void) | undefined;
afterEach(async () => {
  stop?.();
  stop = undefined;
  await g?.stop();
  g = undefined;
});

describe("a reload that changes only security_guards", () => {
  it("tells open sessions to list again, judges the tools they hold with the new guards, and refuses a newly hidden tool called by name", async () => {
    g = await gatewayWith(upstream("evil", "malicious"), "  - id: pii\n    type: pii\n");
    const ev = events(g);
    stop = followGuardReloads(g.gw, g.guards);
    const c = await g.client();
    const changed = listChanged(c);
    expect((await c.listTools()).tools.map((t) => t.name)).toContain("weather");
    // No guard judges tool descriptions yet: the call goes through (the fixture has no
    // handler for weather, so it answers with an error result, but it is not refused).
    expect(textOf(await c.callTool({ name: "weather", arguments: { city: "x" } }))).toContain(
      "unknown tool weather",
    );

    g.rewriteGuards("  - id: pii\n    type: pii\n  - id: poisoning\n    type: tool_poisoning\n");
    const before = changed.n;
    const r = g.gw.reload();
    expect(r.ok).toBe(true);
    expect(await ev.wait(1)).toMatchObject({
      ok: true,
      trigger: "config",
      guards: ["pii", "poisoning"],
    });
    // Told twice: by the gateway's reload at once, and again once the new guards are in place.
    await until(() => changed.n >= before + 2, "a tools/list_changed after the guards reload");

    // Called by name, without listing again: judged by the new guards, and refused.
    await expect(c.callTool({ name: "weather", arguments: { city: "x" } })).rejects.toThrow(
      /tool "weather" is hidden by guard "poisoning": Tool poisoning: tool "weather"/,
    );
    // The next listing is judged by the new guards too.
    const names = (await c.listTools()).tools.map((t) => t.name);
    expect(names).not.toContain("weather");
    expect(names).toContain("echo");
    expect(textOf(await c.callTool({ name: "echo", arguments: { text: "hi" } }))).toBe("hi");
    const audit = g.audit();
    expect(audit).toContainEqual(
      expect.objectContaining({ kind: "guards_reload", decision: "allow", trigger: "config" }),
    );
    expect(audit).toContainEqual(
      expect.objectContaining({
        method: "tools/call",
        name: "weather",
        decision: "deny",
        rule: "security_guards.poisoning",
      }),
    );

    // Guards removed again: the tool is served and callable.
    g.rewriteGuards("  - id: pii\n    type: pii\n");
    expect(g.gw.reload().ok).toBe(true);
    expect(await ev.wait(2)).toMatchObject({ ok: true, guards: ["pii"] });
    expect(textOf(await c.callTool({ name: "weather", arguments: { city: "x" } }))).toContain(
      "unknown tool weather",
    );
  }, 60_000);

  it("holds open sessions to a new server_whitelist: the upstream it no longer lists is cut off, the others keep working", async () => {
    const wl = (servers: string) =>
      `  - id: whitelist\n    type: server_whitelist\n    config: { servers: [${servers}] }\n`;
    g = await gatewayWith(
      upstream("mail", "clean") + upstream("evil", "malicious"),
      wl("mail, evil"),
    );
    const ev = events(g);
    stop = followGuardReloads(g.gw, g.guards);
    const c = await g.client();
    expect((await c.listTools()).tools.map((t) => t.name)).toContain("evil__echo");
    expect(textOf(await c.callTool({ name: "evil__echo", arguments: { text: "hi" } }))).toBe("hi");
    g.rewriteGuards(wl("mail"));
    expect(g.gw.reload().ok).toBe(true);
    await ev.wait(1);
    await expect(c.callTool({ name: "evil__echo", arguments: { text: "hi" } })).rejects.toThrow(
      /Server "evil" is not in the server_whitelist guard "whitelist"/,
    );
    const names = (await c.listTools()).tools.map((t) => t.name).sort();
    expect(names).toEqual(["mail__search", "mail__send_email"]);
    expect(
      textOf(await c.callTool({ name: "mail__send_email", arguments: { to: "a", body: "b" } })),
    ).toBe("sent to a");
    // A new session is not connected to it at all.
    const c2 = await g.client();
    expect((await c2.listTools()).tools.map((t) => t.name).sort()).toEqual(names);
  }, 60_000);

  it("rejects an invalid guards section at reload with file:line:col, and the old guards keep running", async () => {
    g = await gatewayWith(
      upstream("evil", "malicious"),
      "  - id: poisoning\n    type: tool_poisoning\n    config: { action: block }\n",
    );
    const ev = events(g);
    stop = followGuardReloads(g.gw, g.guards);
    const c = await g.client();
    await expect(c.listTools()).rejects.toThrow(/Tool poisoning in tool "weather"/);
    // A reload that changes nothing the guards depend on rebuilds nothing (no event below).
    expect(g.gw.reload().ok).toBe(true);
    const file = join(g.dir, "warden.yaml");
    const line = readFileSync(file, "utf8").split("\n").indexOf("security_guards:") + 3;
    g.rewriteGuards("  - id: poisoning\n    type: tool_poison\n");
    const r = g.gw.reload();
    expect(r.ok).toBe(false);
    expect(r.errors.join("\n")).toContain(
      `${file}:${line}:11 security_guards[0].type: type must be wasm or a built-in: tool_poisoning, rug_pull, tool_shadowing, server_whitelist, pii, not "tool_poison" (did you mean "tool_poisoning"?).`,
    );
    await new Promise((res) => setTimeout(res, 200));
    expect(ev.list).toHaveLength(0);
    await expect(c.listTools()).rejects.toThrow(/Tool poisoning in tool "weather"/);
  }, 30_000);
});

/** A JSON ABI guard that answers `answer` to everything, from WAT built here with wabt. */
async function answering(answer: string): Promise<Uint8Array> {
  const at = 64;
  const escaped = answer.replace(/\\/g, "\\\\").replace(/"/g, '\\"');
  const wat = `(module
  (memory (export "memory") 1)
  (data (i32.const ${at}) "${escaped}")
  (func (export "evaluate") (param i32 i32) (result i64)
    (i64.const ${BigInt(at) * 2n ** 32n + BigInt(Buffer.byteLength(answer))})))`;
  const wabt = await wabtInit();
  const mod = wabt.parseWat("answer.wat", wat);
  try {
    mod.validate();
    return new Uint8Array(mod.toBinary({}).buffer);
  } finally {
    mod.destroy();
  }
}

describe("a wasm guard's module file that changes on disk", () => {
  it("is reloaded like a config change; a broken one is rejected with its location and the old guard keeps running", async () => {
    const allow = await answering('{"verdict":true}');
    const deny = await answering('{"verdict":false,"message":"version two refuses"}');
    const dir = mkdtempSync(join(tmpdir(), "warden-guard-module-"));
    const mod = join(dir, "guard.wasm");
    // Replaced the way build tools do (write aside, rename), or written in place.
    const replace = (bytes: Uint8Array | string) => {
      writeFileSync(`${mod}.tmp`, bytes);
      renameSync(`${mod}.tmp`, mod);
    };
    replace(allow);
    g = await gatewayWith(
      upstream("mail", "clean"),
      `  - id: mine\n    type: wasm\n    module_path: ${JSON.stringify(mod)}\n    runs_on: [tool_invoke]\n`,
    );
    const ev = events(g);
    stop = followGuardReloads(g.gw, g.guards, { debounceMs: 50 });
    const c = await g.client();
    const call = () => c.callTool({ name: "send_email", arguments: { to: "a", body: "b" } });
    expect(textOf(await call())).toBe("sent to a");

    replace(deny);
    expect(await ev.wait(1)).toMatchObject({ ok: true, trigger: "module", guards: ["mine"] });
    await expect(call()).rejects.toThrow(/version two refuses/);

    writeFileSync(mod, "this is not WebAssembly");
    const bad = await ev.wait(2);
    expect(bad).toMatchObject({ ok: false, trigger: "module" });
    const line = readFileSync(join(g.dir, "warden.yaml"), "utf8")
      .split("\n")
      .indexOf("  - id: mine");
    expect(bad.error!.message).toContain(
      `Guard "mine" at ${join(g.dir, "warden.yaml")}:${line + 1}`,
    );
    expect(bad.error!.message).toContain(mod);
    // The old guard (version two) keeps judging.
    await expect(call()).rejects.toThrow(/version two refuses/);
    expect(g.audit()).toContainEqual(
      expect.objectContaining({
        kind: "guards_reload",
        trigger: "module",
        decision: "deny",
        reason: expect.stringContaining("the old guards keep running"),
      }),
    );

    replace(allow);
    expect(await ev.wait(3)).toMatchObject({ ok: true, trigger: "module" });
    expect(textOf(await call())).toBe("sent to a");
  }, 60_000);
});

describe("warden gateway over stdio", () => {
  it("picks up a guards-only edit of warden.yaml: the client is told, and a newly hidden tool is refused", async () => {
    const { Client } = await import("@modelcontextprotocol/sdk/client/index.js");
    const { StdioClientTransport } = await import("@modelcontextprotocol/sdk/client/stdio.js");
    const { ROOT } = await import("./build.js");
    const { ALLOW_ALL } = await import("./gateway-helpers.js");
    const dir = mkdtempSync(join(tmpdir(), "warden-guards-stdio-"));
    writeFileSync(join(dir, "policy.yaml"), ALLOW_ALL);
    const file = join(dir, "warden.yaml");
    const base = `listen: stdio\npolicy: ./policy.yaml\naudit: { file: ./audit.jsonl }\nupstreams:\n${upstream("evil", "malicious")}`;
    writeFileSync(file, `${base}security_guards:\n  - id: pii\n    type: pii\n`);
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [join(ROOT, "dist", "cli", "main.js"), "gateway", "--config", file],
      stderr: "pipe",
    });
    let stderr = "";
    transport.stderr?.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    const c = new Client({ name: "guards-stdio", version: "1.0.0" });
    await c.connect(transport);
    try {
      const changed = listChanged(c);
      expect((await c.listTools()).tools.map((t) => t.name)).toContain("weather");
      writeFileSync(
        file,
        `${base}security_guards:\n  - id: pii\n    type: pii\n  - id: poisoning\n    type: tool_poisoning\n`,
      );
      await until(() => changed.n >= 2, "two tools/list_changed (the reload, then the guards)");
      await expect(c.callTool({ name: "weather", arguments: { city: "x" } })).rejects.toThrow(
        /hidden by guard "poisoning"/,
      );
      expect((await c.listTools()).tools.map((t) => t.name)).not.toContain("weather");
      // A broken guards section is refused with its location; the guards in place stay.
      writeFileSync(file, `${base}security_guards:\n  - id: pii\n    type: nope\n`);
      await until(() => stderr.includes('not "nope"'), "the rejection on stderr");
      const line = readFileSync(file, "utf8").split("\n").indexOf("    type: nope") + 1;
      expect(stderr).toContain(
        `${file}:${line}:11 security_guards[0].type: type must be wasm or a built-in: tool_poisoning, rug_pull, tool_shadowing, server_whitelist, pii, not "nope".`,
      );
      await expect(c.callTool({ name: "weather", arguments: { city: "x" } })).rejects.toThrow(
        /hidden by guard "poisoning"/,
      );
    } finally {
      await c.close();
    }
  }, 60_000);

  it("warden gateway --check reports a guards problem as file:line:col (exit 2)", async () => {
    const { ROOT } = await import("./build.js");
    const { ALLOW_ALL } = await import("./gateway-helpers.js");
    const dir = mkdtempSync(join(tmpdir(), "warden-guards-check-"));
    writeFileSync(join(dir, "policy.yaml"), ALLOW_ALL);
    const file = join(dir, "warden.yaml");
    writeFileSync(
      file,
      `policy: ./policy.yaml\nupstreams:\n${upstream("mail", "clean")}security_guards:\n  - id: a\n    type: pii\n    config: { mode: shout }\n`,
    );
    let out = "";
    let code = 0;
    try {
      execFileSync(
        process.execPath,
        [join(ROOT, "dist", "cli", "main.js"), "gateway", "--config", file, "--check"],
        { stdio: "pipe" },
      );
    } catch (e) {
      const err = e as { status: number; stderr: Buffer };
      code = err.status;
      out = err.stderr.toString();
    }
    expect(code).toBe(2);
    expect(out).toContain(`${file}:9:`);
    expect(out).toContain("security_guards[0].config.mode");
  }, 30_000);
});
