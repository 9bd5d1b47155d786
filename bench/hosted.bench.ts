/**
 * Hosted tools (issue 21): a tools/call of a small component through `warden serve` over stdio,
 * measured at an SDK client (p50, p99), beside the stdio transport's own floor in the same run
 * (the same SDK client calling an SDK McpServer's `echo` tool directly over stdio); and the RSS
 * of `warden serve` with 20 components loaded (after tools/list, and after one call of each,
 * when every component has an instance in a worker). The components are built here from WAT
 * (wabt + jco componentEmbed/componentNew: a core module with the canonical ABI by hand, what a
 * C component compiles to). `npm run bench -- --only hosted`.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { componentEmbed, componentNew } from "@bytecodealliance/jco";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import wabtInit from "wabt";
import type { Harness } from "./harness.js";
import { rssMb } from "./mcp/raw-clients.js";

const here = dirname(fileURLToPath(import.meta.url));
const ROOT = join(here, "..", "..");
const CLI = join(ROOT, "dist", "cli", "main.js");
const ECHO = join(here, "mcp", "echo-server.js");

async function component(dir: string, i: number): Promise<string> {
  const pkg = `bench:c${i}@0.1.0`;
  const wit = `package ${pkg};\n\ninterface t${i} {\n  /// Adds two numbers.\n  add: func(a: u32, b: u32) -> u32;\n}\n\nworld w${i} {\n  export t${i};\n}\n`;
  const wat = `(module (memory (export "memory") 1)
    (func (export "bench:c${i}/t${i}@0.1.0#add") (param i32 i32) (result i32)
      (i32.add (local.get 0) (local.get 1))))`;
  const wabt = await wabtInit();
  const mod = wabt.parseWat(`c${i}.wat`, wat);
  const core = new Uint8Array(mod.toBinary({}).buffer);
  mod.destroy();
  const embedded = await componentEmbed({ binary: core, witSource: wit, world: `w${i}` });
  const bytes = await componentNew(embedded);
  writeFileSync(join(dir, `c${i}.wasm`), bytes);
  writeFileSync(join(dir, `c${i}.wit`), wit);
  return join(dir, `c${i}.wasm`);
}

async function client(command: string, args: string[], env?: Record<string, string>) {
  const t = new StdioClientTransport({ command, args, stderr: "ignore", ...(env ? { env } : {}) });
  const c = new Client({ name: "bench", version: "1" });
  await c.connect(t);
  return { c, pid: t.pid ?? 0 };
}

export default async function (h: Harness): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), "warden-bench-hosted-"));
  const one = join(root, "one");
  const many = join(root, "many");
  const cache = join(root, "cache");
  mkdirSync(one);
  mkdirSync(many);
  mkdirSync(cache, { mode: 0o700 });
  const env = { ...process.env, WARDEN_CACHE_DIR: cache } as Record<string, string>;
  try {
    const file = await component(one, 0);
    for (let i = 0; i < 20; i++) await component(many, i);
    const node = process.execPath;

    const served = await client(node, [CLI, "serve", file, "--workers", "1"], env);
    const floor = await client(node, [ECHO]);
    try {
      await h.measureAsync(
        "hosted: tools/call of a small (WAT/C-style) component through warden serve, stdio, at an SDK client",
        () => served.c.callTool({ name: "t0.add", arguments: { a: 2, b: 3 } }),
        { note: "fresh state per call (memory image restored); goal ≤ 200 µs p50" },
      );
      await h.measureAsync(
        "hosted: floor, tools/call of an SDK McpServer echo tool directly over stdio, same client",
        () => floor.c.callTool({ name: "echo", arguments: { text: "x" } }),
        { note: "the stdio transport and SDK's own cost" },
      );
    } finally {
      await served.c.close();
      await floor.c.close();
    }

    const twenty = await client(node, [CLI, "serve", many, "--workers", "2"], env);
    try {
      await twenty.c.listTools();
      const loaded = rssMb(twenty.pid);
      for (let i = 0; i < 20; i++)
        await twenty.c.callTool({ name: `t${i}.add`, arguments: { a: i, b: 1 } });
      const called = rssMb(twenty.pid);
      h.record({
        name: "hosted: RSS of warden serve with 20 components loaded, after tools/list",
        p50_ns: 0,
        p99_ns: 0,
        ops_per_s: 0,
        samples: 1,
        note: `RSS ${loaded} MB (no instance yet)`,
      });
      h.record({
        name: "hosted: RSS of warden serve with 20 components, after one call of each",
        p50_ns: 0,
        p99_ns: 0,
        ops_per_s: 0,
        samples: 1,
        note: `RSS ${called} MB (every component instantiated, 2 workers)`,
      });
    } finally {
      await twenty.c.close();
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
