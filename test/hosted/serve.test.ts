/**
 * `warden serve` over stdio with a real SDK client: components built from WAT at test time
 * (test/hosted/build.ts), each with its WIT source beside it.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI } from "../mcp/helpers.js";
import { cliClient, ENV, serveHttp } from "./_serve.js";
import { CACHE, watComponent } from "./build.js";

const TMP = mkdtempSync(join(tmpdir(), "warden-serve-"));
const POLICY = join(TMP, "limits.yaml");
writeFileSync(
  POLICY,
  'version: "1.0"\nresources:\n  limits:\n    memory: 4Mi\n    execution_time: 300ms\n',
);
/** The same memory limit with a clock far off: the memory limit, not the time limit, decides
 * whatever the machine's load (the time limit is a wall clock). */
const MEMORY_POLICY = join(TMP, "memory.yaml");
writeFileSync(
  MEMORY_POLICY,
  'version: "1.0"\nresources:\n  limits:\n    memory: 4Mi\n    execution_time: 30s\n',
);

async function serve(file: string, ...extra: string[]): Promise<Client> {
  return serveWith(POLICY, file, ...extra);
}

function serveWith(policy: string, file: string, ...extra: string[]): Promise<Client> {
  return cliClient(["serve", file, "--policy", policy, "--workers", "1", ...extra], "serve-test");
}

type Answer = {
  structuredContent?: { result?: unknown };
  isError?: boolean;
  content: { text: string }[];
  _meta?: { "warden/error"?: { code: string; message: string } };
};

async function call(c: Client, name: string, args: Record<string, unknown> = {}) {
  return (await c.callTool({ name, arguments: args })) as unknown as Answer;
}

function refusal(file: string): { status: number | null; stderr: string } {
  mkdirSync(CACHE, { recursive: true, mode: 0o700 });
  const r = spawnSync(process.execPath, [CLI, "serve", file, "--inspect"], {
    env: ENV,
    encoding: "utf8",
  });
  return { status: r.status, stderr: r.stderr };
}

let hostile: string;
let counter: string;
beforeAll(async () => {
  mkdirSync(CACHE, { recursive: true, mode: 0o700 });
  hostile = await watComponent("hostile");
  counter = await watComponent("counter");
});
afterAll(() => {});

describe("warden serve: components as MCP tools over stdio", () => {
  it("lists the exported functions with their WIT docs and calls them", {
    timeout: 120_000,
  }, async () => {
    const c = await serve(hostile);
    try {
      const { tools } = await c.listTools();
      expect(tools.map((t) => t.name).sort()).toEqual(["tools.bomb", "tools.ok", "tools.spin"]);
      const ok = tools.find((t) => t.name === "tools.ok")!;
      expect(ok.description).toBe("Returns 42.");
      expect(ok.outputSchema).toMatchObject({ properties: { result: { type: "integer" } } });
      const r = await call(c, "tools.ok");
      expect(r.isError).toBeFalsy();
      expect(r.structuredContent).toEqual({ result: 42 });
    } finally {
      await c.close();
    }
  });

  it("stops an infinite loop and a memory bomb with typed errors; the next call works", {
    timeout: 120_000,
  }, async () => {
    const c = await serve(hostile);
    try {
      const spin = await call(c, "tools.spin");
      expect(spin.isError).toBe(true);
      expect(spin._meta?.["warden/error"]?.code).toBe("timeout");
      expect((await call(c, "tools.ok")).structuredContent).toEqual({ result: 42 });
    } finally {
      await c.close();
    }
    // the bomb under the same memory limit, its clock 30 s away: a descheduled worker cannot
    // turn memory_exceeded into a timeout
    const m = await serveWith(MEMORY_POLICY, hostile);
    try {
      const bomb = await call(m, "tools.bomb");
      expect(bomb.isError).toBe(true);
      expect(bomb._meta?.["warden/error"]?.code).toBe("memory_exceeded");
      expect((await call(m, "tools.ok")).structuredContent).toEqual({ result: 42 });
    } finally {
      await m.close();
    }
  });

  it("refuses invalid arguments before the component runs", { timeout: 120_000 }, async () => {
    const c = await serve(hostile);
    try {
      const r = await call(c, "tools.ok", { extra: 1 });
      expect(r.isError).toBe(true);
      expect(r._meta?.["warden/error"]?.code).toBe("hosted_invalid_arguments");
      expect(r.content[0]!.text).toMatch(/did not run/);
      const u = await call(c, "tools.nope");
      expect(u._meta?.["warden/error"]?.code).toBe("hosted_unknown_tool");
    } finally {
      await c.close();
    }
  });

  it("starts every call from the instance's image unless --stateful", {
    timeout: 120_000,
  }, async () => {
    const fresh = await serve(counter);
    try {
      expect((await call(fresh, "tools.next")).structuredContent).toEqual({ result: 1 });
      expect((await call(fresh, "tools.next")).structuredContent).toEqual({ result: 1 });
      expect((await call(fresh, "tools.next")).structuredContent).toEqual({ result: 1 });
    } finally {
      await fresh.close();
    }
    const kept = await serve(counter, "--stateful");
    try {
      expect((await call(kept, "tools.next")).structuredContent).toEqual({ result: 1 });
      expect((await call(kept, "tools.next")).structuredContent).toEqual({ result: 2 });
    } finally {
      await kept.close();
    }
  });

  it("refuses at load a function taking a resource handle, naming it", async () => {
    const r = refusal(await watComponent("resourceful"));
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/hosted_function_refused/);
    expect(r.stderr).toMatch(/function take takes parameter h: borrow<handle>/);
  });

  it("refuses at load a component importing what Warden does not provide, naming the import", async () => {
    const r = refusal(await watComponent("importer"));
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/hosted_import_refused/);
    expect(r.stderr).toMatch(/imports warden:importer\/secret/);
  });

  it("serves every component of a folder, and refuses two exporting the same tool name", async () => {
    const dir = join(TMP, "folder");
    mkdirSync(dir);
    copyFileSync(hostile, join(dir, "hostile.wasm"));
    copyFileSync(join(dirname(hostile), "hostile.wit"), join(dir, "hostile.wit"));
    copyFileSync(counter, join(dir, "counter.wasm"));
    copyFileSync(join(dirname(counter), "counter.wit"), join(dir, "counter.wit"));
    const ok = spawnSync(process.execPath, [CLI, "serve", dir, "--inspect"], {
      env: ENV,
      encoding: "utf8",
    });
    expect(ok.status, ok.stderr).toBe(0);
    const names = (JSON.parse(ok.stdout) as { tools: { name: string }[] }).tools.map((t) => t.name);
    expect(names.sort()).toEqual(["tools.bomb", "tools.next", "tools.ok", "tools.spin"]);
    copyFileSync(hostile, join(dir, "twin.wasm"));
    copyFileSync(join(dirname(hostile), "hostile.wit"), join(dir, "twin.wit"));
    const r = refusal(dir);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/hosted_name_collision/);
    expect(r.stderr).toContain(`"${basename(hostile, ".wasm")}"`);
    expect(r.stderr).toContain('"twin"');
  });
});

describe("warden serve --http: the gateway's HTTP front with one component upstream", () => {
  it("serves the tools over Streamable HTTP under the policy", { timeout: 120_000 }, async () => {
    const { StreamableHTTPClientTransport } = await import(
      "@modelcontextprotocol/sdk/client/streamableHttp.js"
    );
    const gwPolicy = join(TMP, "gateway.yaml");
    writeFileSync(
      gwPolicy,
      'version: "1.0"\nmcp:\n  transport: { stdio: true, http: true }\n  tools:\n    allow: ["tools.ok"]\n',
    );
    const { child, url: childUrl } = serveHttp([
      "serve",
      hostile,
      "--http",
      "127.0.0.1:0",
      "--policy",
      gwPolicy,
      "--policy",
      POLICY,
    ]);
    try {
      const url = await childUrl;
      const c = new Client({ name: "serve-http-test", version: "1" });
      await c.connect(new StreamableHTTPClientTransport(new URL(url)));
      try {
        const { tools } = await c.listTools();
        expect(tools.map((t) => t.name)).toEqual(["tools.ok"]);
        expect((await call(c, "tools.ok")).structuredContent).toEqual({ result: 42 });
      } finally {
        await c.close();
      }
    } finally {
      child.kill("SIGTERM");
    }
  });
});
