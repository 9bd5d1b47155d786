/**
 * A component file that changes is reloaded (issue 21: "a file change reloads, a broken component
 * keeps the old one running and says why"), under `warden serve` (stdio) and behind the gateway
 * (a component upstream): replaced by a broken file, the old component keeps serving and the
 * log and the audit say why; replaced by another component, the new tools are served and the
 * client is told to list again. Real SDK clients; the components are WAT fixtures built at test
 * time (test/hosted/build.ts).
 */
import { copyFileSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { ToolListChangedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import { beforeAll, describe, expect, it } from "vitest";
import { auditLines } from "../mcp/audit-schema.js";
import { CLI, httpClient, startGateway, tempDir, until } from "../mcp/helpers.js";
import { CACHE, watComponent } from "./build.js";
import { wasiComponent } from "./wasi/components.js";

let hostile: string;
let counter: string;

beforeAll(async () => {
  mkdirSync(CACHE, { recursive: true, mode: 0o700 });
  hostile = await watComponent("hostile");
  counter = await watComponent("counter");
});

/** `dir/tool.wasm` (and its WIT) becomes `from`, replaced by rename as a build would. */
function place(dir: string, from: string): void {
  copyFileSync(from.replace(/\.wasm$/, ".wit"), join(dir, "tool.wit"));
  copyFileSync(from, join(dir, "tool.wasm.tmp"));
  renameSync(join(dir, "tool.wasm.tmp"), join(dir, "tool.wasm"));
}

function breakIt(dir: string): void {
  writeFileSync(join(dir, "tool.wasm.tmp"), "this is not a WebAssembly component");
  renameSync(join(dir, "tool.wasm.tmp"), join(dir, "tool.wasm"));
}

const names = async (c: Client) => (await c.listTools()).tools.map((t) => t.name).sort();
const result = async (c: Client, name: string) =>
  ((await c.callTool({ name, arguments: {} })) as { structuredContent?: { result?: unknown } })
    .structuredContent?.result;

describe("warden serve follows its component file", () => {
  it("a broken replacement keeps the old component serving and says why; a good one is served, the client told to list again", {
    timeout: 120_000,
  }, async () => {
    const dir = tempDir();
    place(dir, hostile);
    const audit = join(dir, "audit.jsonl");
    const t = new StdioClientTransport({
      command: process.execPath,
      args: [CLI, "serve", join(dir, "tool.wasm"), "--workers", "1", "--audit", audit],
      env: { ...process.env, WARDEN_CACHE_DIR: CACHE } as Record<string, string>,
      stderr: "pipe",
    });
    let stderr = "";
    t.stderr?.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    const c = new Client({ name: "reload-test", version: "1" });
    let listChanged = 0;
    c.setNotificationHandler(ToolListChangedNotificationSchema, async () => {
      listChanged++;
    });
    await c.connect(t);
    try {
      expect(await names(c)).toEqual(["tools.bomb", "tools.ok", "tools.spin"]);
      expect(await result(c, "tools.ok")).toBe(42);

      breakIt(dir);
      await until(() => stderr.includes("could not be loaded"), 30_000, "the refusal");
      expect(stderr).toMatch(/the previous version keeps serving/);
      expect(await result(c, "tools.ok")).toBe(42);
      expect(listChanged).toBe(0);
      const refused = auditLines(audit).find((l) => l.kind === "component_reload")!;
      expect(refused).toMatchObject({ decision: "deny", trigger: "file" });
      expect(refused.reason).toMatch(/previous one keeps serving/);

      place(dir, counter);
      await until(() => listChanged > 0, 30_000, "tools/list_changed");
      expect(stderr).toContain(`reloaded ${join(dir, "tool.wasm")}`);
      expect(await names(c)).toEqual(["tools.next"]);
      expect(await result(c, "tools.next")).toBe(1);
    } finally {
      await c.close();
    }
  });
});

describe("a component upstream follows its file", () => {
  it("a broken replacement keeps the old one serving, the gateway's log and audit say why; a good one is served to the open session", {
    timeout: 120_000,
  }, async () => {
    const dir = tempDir();
    place(dir, hostile);
    writeFileSync(
      join(dir, "policy.yaml"),
      'version: "1.0"\nmcp:\n  transport: { http: true, stdio: true }\n  tools: { allow: ["tools.*"] }\n',
    );
    writeFileSync(
      join(dir, "warden.yaml"),
      `listen: { http: { port: 0 } }\npolicy: ./policy.yaml\naudit: { file: ./audit.jsonl }\nupstreams:\n  - name: calc\n    component: ./tool.wasm\n`,
    );
    process.env.WARDEN_CACHE_DIR = CACHE;
    const { gw, url } = await startGateway(join(dir, "warden.yaml"));
    const notes: { method: string }[] = [];
    const c = await httpClient(url, { roots: [], notifications: notes });
    const audit = join(dir, "audit.jsonl");
    const reloads = () => auditLines(audit).filter((l) => l.kind === "component_reload");
    try {
      expect(await names(c)).toEqual(["tools.bomb", "tools.ok", "tools.spin"]);
      expect(await result(c, "tools.ok")).toBe(42);

      breakIt(dir);
      await until(() => reloads().length === 1, 30_000, "the refusal's audit line");
      expect(reloads()[0]).toMatchObject({
        phase: "event",
        upstream: "calc",
        decision: "deny",
        trigger: "file",
      });
      expect(reloads()[0]!.reason).toMatch(/could not be loaded .*the previous one keeps serving/);
      expect(await result(c, "tools.ok")).toBe(42);

      place(dir, counter);
      await until(() => reloads().length === 2, 30_000, "the reload's audit line");
      expect(reloads()[1]).toMatchObject({ upstream: "calc", decision: "allow" });
      await until(
        () => notes.some((n) => n.method === "notifications/tools/list_changed"),
        30_000,
        "tools/list_changed",
      );
      expect(await names(c)).toEqual(["tools.next"]);
      expect(await result(c, "tools.next")).toBe(1);
    } finally {
      await c.close();
      await gw.stop();
    }
  });
});

describe("a component upstream follows its policy files", () => {
  it("a policy change reaches the component's host calls at once (the workers' instances are made again)", {
    timeout: 120_000,
  }, async () => {
    const opener = await wasiComponent("fileopener");
    const dir = tempDir();
    mkdirSync(join(dir, "data"));
    writeFileSync(join(dir, "data", "a.txt"), "a");
    const policy = (extra: string) =>
      `version: "1.0"\nmcp:\n  transport: { http: true, stdio: true }\n  tools: { allow: ["tools.*"] }\nstorage:\n  allow:\n    - uri: "fs://${dir}/data/**"\n      access: [read]\n${extra}`;
    writeFileSync(
      join(dir, "policy.yaml"),
      policy(`  deny:\n    - uri: "fs://${dir}/data/a.txt"\n`),
    );
    writeFileSync(
      join(dir, "warden.yaml"),
      `listen: { http: { port: 0 } }\npolicy: ./policy.yaml\naudit: { file: ./audit.jsonl }\nupstreams:\n  - name: files\n    component: ${JSON.stringify(opener)}\n`,
    );
    process.env.WARDEN_CACHE_DIR = CACHE;
    const { gw, url } = await startGateway(join(dir, "warden.yaml"), true);
    const c = await httpClient(url);
    const open = async () =>
      (
        (await c.callTool({ name: "tools.open", arguments: { path: "a.txt" } })) as {
          structuredContent?: { result?: unknown };
        }
      ).structuredContent?.result;
    try {
      expect(await open()).toBe(100); // access: the deny rule
      writeFileSync(join(dir, "policy.yaml.tmp"), policy(""));
      renameSync(join(dir, "policy.yaml.tmp"), join(dir, "policy.yaml"));
      await until(
        () => auditLines(join(dir, "audit.jsonl")).some((l) => l.kind === "component_reload"),
        30_000,
        "the component reload",
      );
      expect(await open()).toBe(0);
    } finally {
      await c.close();
      await gw.stop();
    }
  });
});
