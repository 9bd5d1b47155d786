/**
 * The deadline from outside: a host call that never returns (a component blocking on an
 * hour-long wasi:clocks pollable, which preview2-shim waits for with Atomics.wait) cannot be
 * stopped by the sandbox's metering inside the worker; the pool terminates the worker at the
 * call's time limit plus grace, answers `timeout` (`enforced: "worker terminated"`), and the
 * next call runs in a new worker. A real SDK client through `warden serve` over stdio.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { beforeAll, describe, expect, it } from "vitest";
import { CLI } from "../mcp/helpers.js";
import { CACHE, watComponent } from "./build.js";

const TMP = mkdtempSync(join(tmpdir(), "warden-deadline-"));
const POLICY = join(TMP, "limits.yaml");
let sleeper = "";

beforeAll(async () => {
  mkdirSync(CACHE, { recursive: true, mode: 0o700 });
  writeFileSync(POLICY, 'version: "1.0"\nresources:\n  limits:\n    execution_time: 300ms\n');
  sleeper = await watComponent("sleeper");
});

type Answer = {
  structuredContent?: unknown;
  isError?: boolean;
  _meta?: { "warden/error"?: { code: string; details?: Record<string, unknown> } };
};

describe("a host call that never returns", () => {
  it("is ended from outside at the time limit; the next call gets a new worker", {
    timeout: 120_000,
  }, async () => {
    const t = new StdioClientTransport({
      command: process.execPath,
      args: [CLI, "serve", sleeper, "--policy", POLICY, "--workers", "1"],
      env: { ...process.env, WARDEN_CACHE_DIR: CACHE } as Record<string, string>,
      stderr: "pipe",
    });
    const c = new Client({ name: "deadline-test", version: "1" });
    await c.connect(t);
    try {
      const call = async (name: string) =>
        (await c.callTool({ name, arguments: {} })) as unknown as Answer;
      expect((await call("tools.ok")).structuredContent).toEqual({ result: 7 });
      const r = await call("tools.sleep");
      expect(r.isError).toBe(true);
      expect(r._meta?.["warden/error"]?.code).toBe("timeout");
      expect(r._meta?.["warden/error"]?.details?.enforced).toBe("worker terminated");
      expect((await call("tools.ok")).structuredContent).toEqual({ result: 7 });
    } finally {
      await c.close();
    }
  });
});
