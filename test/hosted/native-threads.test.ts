/**
 * A `warden serve` process whose component is already in the cache loads no native module and
 * starts no thread of one: importing jco's entry point (for wasm-tools' componentWit, run at
 * every load) used to load jco's transpiler too, which imports oxc-minify, a native (napi-rs)
 * module whose tokio runtime started two `tokio-rt-worker` threads in every serve process. The
 * transpiler is loaded only when the cache misses (src/sandbox/component/transpile.ts).
 * Linux: the process's threads and mapped files are read from /proc.
 */
import { spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { describe, expect, it } from "vitest";
import { CLI } from "../mcp/helpers.js";
import { cliClient, ENV } from "./_serve.js";
import { CACHE, watComponent } from "./build.js";

const threadsOf = (pid: number) =>
  readdirSync(`/proc/${pid}/task`).map((t) =>
    readFileSync(`/proc/${pid}/task/${t}/comm`, "utf8").trim(),
  );
const nativeModulesOf = (pid: number) => [
  ...new Set(
    readFileSync(`/proc/${pid}/maps`, "utf8")
      .split("\n")
      .map((l) => l.split(/\s+/).at(-1) ?? "")
      .filter((f) => f.endsWith(".node")),
  ),
];

describe.skipIf(!existsSync("/proc/self/task"))("warden serve's own threads", () => {
  it("a served component (cache warm) brings no native module and no tokio-rt-worker thread", {
    timeout: 120_000,
  }, async () => {
    mkdirSync(CACHE, { recursive: true, mode: 0o700 });
    const comp = await watComponent("hostile");
    const policy = join(mkdtempSync(join(tmpdir(), "warden-threads-")), "p.yaml");
    writeFileSync(policy, 'version: "1.0"\n');
    // the cache is filled (transpiled) by another process
    const inspect = spawnSync(process.execPath, [CLI, "serve", comp, "--inspect"], {
      env: ENV,
      encoding: "utf8",
    });
    expect(inspect.status, inspect.stderr).toBe(0);
    const c = await cliClient(["serve", comp, "--policy", policy, "--workers", "1"], "threads");
    try {
      const r = await c.callTool({ name: "tools.ok", arguments: {} });
      expect(r.structuredContent).toEqual({ result: 42 });
      const pid = (c.transport as StdioClientTransport).pid!;
      expect(pid).toBeGreaterThan(0);
      expect(threadsOf(pid)).not.toContain("tokio-rt-worker");
      expect(nativeModulesOf(pid)).toEqual([]);
    } finally {
      await c.close();
    }
  });
});
