/**
 * Guards benchmarks (issue 7): per-invocation latency of each built-in guard on a realistic
 * payload; of a component guard (the JavaScript example, componentize-js + jco, core modules in
 * Warden's sandbox) on evaluate-tools-list with 50 tools and on evaluate-tool-invoke, next to the
 * same component with no limits (plain WebAssembly.instantiate: the floor); of the AssemblyScript
 * JSON ABI guard; and the gateway's added latency per tools/call (stdio to stdio) with three
 * guards on, against the same gateway with none.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { parseGuardsConfig } from "../src/guards/config.js";
import { loadGuards } from "../src/guards/loader.js";
import type { GuardSet } from "../src/guards/set.js";
import type { GuardPhase, GuardTool, PhasePayload } from "../src/guards/types.js";
import { toWitContext, toWitInvocation, toWitTool } from "../src/guards/wasm/wit-convert.js";
import { blackhole, type Harness } from "./harness.js";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "../..");
const BUILD = join(root, "test/.build/guards");
const CACHE = join(BUILD, "cache");

const DESCRIPTIONS = [
  "Reads a file from the workspace and returns its contents as text.",
  "Writes text to a file in the workspace, creating folders as needed.",
  "Lists the entries of a directory, with sizes and modification times.",
  "Searches files for a regular expression and returns matching lines.",
  "Runs the project's test suite and returns a summary of failures.",
  "Creates a branch, commits the staged changes and opens a pull request.",
  "Fetches a web page and returns its main text, without scripts or styles.",
  "Sends an email to one recipient with a subject and a plain-text body.",
  "Looks up the weather forecast for a city for the next three days.",
  "Adds an event to the user's calendar at the given time and duration.",
];
function toolsOf(n: number, server = "files"): GuardTool[] {
  return Array.from({ length: n }, (_, i) => ({
    name: `${server}_tool_${i}`,
    description: DESCRIPTIONS[i % DESCRIPTIONS.length]!,
    inputSchema: {
      type: "object",
      properties: {
        path: { type: "string", description: "Absolute path of the file." },
        limit: { type: "integer", description: "How many entries to return (default 100)." },
      },
      required: ["path"],
    },
  }));
}
const ARGS = {
  path: "/srv/data/reports/2024-q3.csv",
  query: "revenue by region for the third quarter, excluding returns",
  options: { limit: 100, offset: 0, format: "csv", include_headers: true },
};
const RESULT = {
  content: [
    {
      type: "text",
      text: "region,revenue\nnorth,1204332\nsouth,993201\neast,1500223\nwest,877120\n(4 rows; generated 2024-10-02T10:22:11Z by report-service v3.4.1)",
    },
  ],
  isError: false,
};

async function pipelineOf(entry: Record<string, unknown>, file: string): Promise<GuardSet> {
  const r = parseGuardsConfig([entry], file);
  if (r.issues.length > 0) throw new Error(JSON.stringify(r.issues));
  return loadGuards(r.guards, { cacheDir: CACHE });
}

function bench<P extends GuardPhase>(
  h: Harness,
  name: string,
  p: GuardSet,
  phase: P,
  payload: PhasePayload[P],
  note: string,
  ctx: { serverName: string; knownServers?: string[] } = {
    serverName: "files",
    knownServers: ["files", "mail", "web"],
  },
  budgetMs?: number,
) {
  const d = p.run(phase, payload, ctx).decision.kind;
  // A failed invocation (timeout...) would make later ones fail fast: count them, and say so.
  let failed = 0;
  const r = h.measure(
    name,
    () => {
      const out = p.run(phase, payload, ctx);
      if (out.trail.some((t) => t.outcome === "failed")) failed++;
      return out;
    },
    { note: `${note}; decision ${d}`, ...(budgetMs ? { budgetMs } : {}) },
  );
  if (failed > 0) r.note += `; ${failed} FAILED invocations (numbers invalid)`;
}

function percentile(sorted: number[], p: number): number {
  return sorted[
    Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  ]!;
}

/** Build an example guard with its own build.mjs, cached by the hash of its sources. */
function buildExample(dir: string, source: string | string[], name: string): string {
  const src = join(root, "examples/guards", dir);
  const h = createHash("sha256");
  for (const f of [source].flat()) h.update(readFileSync(join(src, f)));
  const key = h
    .update(readFileSync(join(src, "build.mjs")))
    .update(readFileSync(join(root, "wit/security-guard.wit")))
    .digest("hex")
    .slice(0, 16);
  const out = join(BUILD, `bench-${name}-${key}.wasm`);
  if (existsSync(out)) return out;
  mkdirSync(BUILD, { recursive: true });
  execFileSync(process.execPath, [join(src, "build.mjs"), `${out}.tmp`], {
    cwd: root,
    stdio: "pipe",
  });
  renameSync(`${out}.tmp`, out);
  return out;
}

async function builtins(h: Harness): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "warden-bench-guards-"));
  const file = join(dir, "warden.yaml");
  const ten = toolsOf(10);
  bench(
    h,
    "built-in tool_poisoning, tools_list (10 tools, as listed again)",
    await pipelineOf({ id: "tp", type: "tool_poisoning" }, file),
    "tools_list",
    ten,
    "goal <= 20 us p50",
  );
  // First sight of every tool (no memo hit): a new description each time.
  const tp = await pipelineOf({ id: "tp2", type: "tool_poisoning" }, file);
  let n = 0;
  h.measure(
    "built-in tool_poisoning, tools_list (10 tools never seen before)",
    () =>
      tp.run(
        "tools_list",
        ten.map((t) => ({ ...t, description: `${t.description} (${n++})` })),
        { serverName: "files" },
      ),
    { note: "goal <= 20 us p50; includes making the 10 new tools" },
  );
  const rp = await pipelineOf({ id: "rp", type: "rug_pull" }, file);
  bench(
    h,
    "built-in rug_pull, tools_list (10 pinned tools)",
    rp,
    "tools_list",
    ten,
    "goal <= 20 us p50",
  );
  bench(
    h,
    "built-in rug_pull, tool_invoke",
    rp,
    "tool_invoke",
    { method: "tools/call", name: "files_tool_3", arguments: ARGS },
    "goal <= 20 us p50",
  );
  const sh = await pipelineOf({ id: "sh", type: "tool_shadowing" }, file);
  sh.run("tools_list", toolsOf(10, "mail"), {
    serverName: "mail",
    knownServers: ["files", "mail", "web"],
  });
  bench(
    h,
    "built-in tool_shadowing, tools_list (10 tools, 2 peers)",
    sh,
    "tools_list",
    ten,
    "goal <= 20 us p50",
  );
  bench(
    h,
    "built-in server_whitelist, connection",
    await pipelineOf(
      {
        id: "wl",
        type: "server_whitelist",
        config: { servers: ["files", { name: "web", url: "https://mcp.example.com/*" }] },
      },
      file,
    ),
    "connection",
    { name: "web", transport: "http", url: "https://mcp.example.com/v1/mcp" },
    "goal <= 20 us p50",
  );
  const pii = await pipelineOf({ id: "pii", type: "pii" }, file);
  bench(
    h,
    "built-in pii, tool_invoke (clean, ~200 B)",
    pii,
    "tool_invoke",
    { method: "tools/call", name: "query", arguments: ARGS },
    "goal <= 20 us p50",
  );
  bench(
    h,
    "built-in pii, response (clean, ~150 B)",
    pii,
    "response",
    { method: "tools/call", name: "query", result: RESULT, isError: false },
    "goal <= 20 us p50",
  );
  const red = await pipelineOf({ id: "pii", type: "pii", config: { mode: "redact" } }, file);
  const leaky = {
    ...RESULT,
    content: [
      {
        type: "text",
        text: `${RESULT.content[0]!.text}\ncontact: jane.doe@example.com, +1 415 555 0132`,
      },
    ],
  };
  bench(
    h,
    "built-in pii redact, response (email + phone)",
    red,
    "response",
    { method: "tools/call", name: "query", result: leaky, isError: false },
    "goal <= 20 us p50",
  );
}

async function wasmGuards(h: Harness): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "warden-bench-guards-"));
  const file = join(dir, "warden.yaml");
  const as = buildExample("as-secrets-guard", "guard.ts", "secrets-guard");
  const asp = await pipelineOf(
    {
      id: "as",
      type: "wasm",
      module_path: as,
      runs_on: ["tool_invoke"],
      config: { warn_after: 1e9 },
    },
    file,
  );
  bench(
    h,
    "AssemblyScript JSON ABI guard, tool_invoke",
    asp,
    "tool_invoke",
    { method: "tools/call", name: "query", arguments: ARGS },
    "all limits on",
  );

  const js = buildExample("js-pattern-guard", "guard.js", "pattern-guard");
  // timeout_ms 1000: the JS engine's garbage collector can pause for tens of milliseconds.
  const jsp = await pipelineOf(
    {
      id: "js",
      type: "wasm",
      module_path: js,
      runs_on: ["tools_list", "tool_invoke"],
      timeout_ms: 1000,
    },
    file,
  );
  const fifty = toolsOf(50);
  const inv: PhasePayload["tool_invoke"] = {
    method: "tools/call",
    name: "files_tool_3",
    arguments: ARGS,
  };
  const budget = h.quick ? 300 : 3000;
  bench(
    h,
    "component guard (JS), evaluate-tools-list, 50 tools",
    jsp,
    "tools_list",
    fifty,
    "componentize-js + jco, sandboxed; seed: 5-10 ms",
    undefined,
    budget,
  );
  bench(
    h,
    "component guard (JS), evaluate-tool-invoke",
    jsp,
    "tool_invoke",
    inv,
    "goal <= 100 us p50; seed: 5-10 ms",
    { serverName: "files" },
    budget,
  );

  await floorRows(h, "JS", js, fifty, inv, budget);
  jsp.close();
  await cGuard(h, fifty, inv, budget);
}

/** The C example (examples/guards/c-pattern-guard) with every limit on, and its floor. */
async function cGuard(
  h: Harness,
  fifty: GuardTool[],
  inv: PhasePayload["tool_invoke"],
  budget: number,
): Promise<void> {
  let c: string;
  try {
    c = buildExample(
      "c-pattern-guard",
      ["guard.c", "settings.c", "settings.h", "wg_abi.c", "wg_abi.h"],
      "c-pattern-guard",
    );
  } catch (error) {
    process.stderr.write(
      `bench: C component guard skipped: ${(error as Error).message.split("\n")[0]} (needs clang for wasm32-wasi, see .ci/apt-deps)\n`,
    );
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), "warden-bench-guards-"));
  const cp = await pipelineOf(
    {
      id: "c",
      type: "wasm",
      module_path: c,
      runs_on: ["tools_list", "tool_invoke"],
      // Checked as often as with 100 ms; 1000 so that a stall of this shared machine (or a GC
      // pause of the host) does not fail a call and void the figures.
      timeout_ms: 1000,
      limits: { max_memory_bytes: 16 * 1024 * 1024, max_fuel: 10_000_000 },
    },
    join(dir, "warden.yaml"),
  );
  bench(
    h,
    "component guard (C), evaluate-tools-list, 50 tools",
    cp,
    "tools_list",
    fifty,
    "clang wasm32 + jco, sandboxed, memory/time/fuel limits on; goal <= 100-200 us (seed 5-10 ms / 50)",
    undefined,
    budget,
  );
  bench(
    h,
    "component guard (C), evaluate-tool-invoke",
    cp,
    "tool_invoke",
    inv,
    "memory/time/fuel limits on; goal <= 100 us p50",
    { serverName: "files" },
    budget,
  );
  await floorRows(h, "C", c, fifty, inv, budget);
  cp.close();
}

type FloorGuard = Record<string, (...a: unknown[]) => unknown>;

/**
 * The floor: the same transpiled component (from the pipeline's cache), instantiated with plain
 * WebAssembly (no instrumentation, no budget), called with payloads converted beforehand: what
 * is left is jco's lifting/lowering and the guest itself.
 */
async function floorRows(
  h: Harness,
  lang: string,
  wasm: string,
  fifty: GuardTool[],
  inv: PhasePayload["tool_invoke"],
  budget: number,
): Promise<void> {
  const sha = createHash("sha256").update(readFileSync(wasm)).digest("hex");
  const entry = readdirOf(CACHE).find(
    (d) => existsSync(join(CACHE, d, "guard.js")) && d.startsWith(sha),
  );
  if (entry === undefined) return;
  const d = join(CACHE, entry);
  const mod = (await import(pathToFileURL(join(d, "guard.js")).href)) as {
    instantiate: (
      g: (p: string) => Promise<WebAssembly.Module>,
      i: unknown,
      c: unknown,
    ) => Promise<Record<string, FloorGuard>>;
  };
  const host = { log() {}, getTime: () => BigInt(Date.now()), getConfig: () => undefined };
  const inst = await mod.instantiate(
    async (p) => WebAssembly.compile(readFileSync(join(d, p))),
    { "mcp:security-guard/host": host, "mcp:security-guard/host@0.1.0": host },
    WebAssembly.instantiate,
  );
  const g = (inst.guard ?? inst["mcp:security-guard/guard@0.1.0"])!;
  const ctx = { serverName: "files", knownServers: ["files", "mail", "web"] };
  const tools = fifty.map(toWitTool);
  const listCtx = toWitContext(ctx, "tools_list");
  const witInv = toWitInvocation(inv);
  const invCtx = toWitContext({ serverName: "files" }, "tool_invoke");
  const note = "plain WebAssembly.instantiate, payload converted beforehand, for comparison";
  h.measure(
    `component guard (${lang}), evaluate-tools-list, 50 tools, no limits (floor)`,
    () => g.evaluateToolsList!(tools, listCtx),
    { budgetMs: budget, note },
  );
  h.measure(
    `component guard (${lang}), evaluate-tool-invoke, no limits (floor)`,
    () => g.evaluateToolInvoke!(witInv, invCtx),
    { budgetMs: budget, note },
  );
}

function readdirOf(d: string): string[] {
  try {
    return readdirSync(d);
  } catch {
    return [];
  }
}

async function gateway(h: Harness): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "warden-bench-gw-"));
  writeFileSync(
    join(dir, "policy.yaml"),
    'version: "1.0"\nmcp:\n  transport: { stdio: true, http: true }\n  tools:\n    allow: ["*"]\n',
  );
  const server = join(root, "test/guards/fixtures/mcp-servers.mjs");
  const base = `listen: stdio\npolicy: ./policy.yaml\nupstreams:\n  - name: mail\n    command: ${JSON.stringify(process.execPath)}\n    args: [${JSON.stringify(server)}, clean]\n`;
  const guards =
    "security_guards:\n  - id: rugpull\n    type: rug_pull\n  - id: pii-in\n    type: pii\n    runs_on: [tool_invoke]\n  - id: pii-out\n    type: pii\n    runs_on: [response]\n    config: { mode: redact }\n";
  const clients: Client[] = [];
  for (const [i, cfg] of [base, base + guards].entries()) {
    const file = join(dir, `${i}.yaml`);
    writeFileSync(file, cfg);
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [join(root, "dist/cli/main.js"), "gateway", "--config", file, "--no-watch"],
      stderr: "ignore",
    });
    const client = new Client({ name: "bench", version: "1" });
    await client.connect(transport);
    await client.listTools();
    clients.push(client);
  }
  // Interleaved, so both see the same machine load (this VM is shared and noisy).
  const args = {
    name: "send_email",
    arguments: { to: "team", body: "The quarterly report is attached." },
  };
  const samples: number[][] = [[], []];
  const n = h.quick ? 200 : 2000;
  const deadline = performance.now() + (h.quick ? 3000 : 20_000);
  for (let i = 0; i < n + 50 && performance.now() < deadline; i++)
    for (const [k, c] of clients.entries()) {
      const t0 = process.hrtime.bigint();
      blackhole(await c.callTool(args));
      if (i >= 50) samples[k]!.push(Number(process.hrtime.bigint() - t0));
    }
  const labels = ["no guards", "three guards (rug_pull, pii on arguments, pii redact on results)"];
  const p50s: number[] = [];
  for (const [k, xs] of samples.entries()) {
    xs.sort((a, b) => a - b);
    const p50 = percentile(xs, 50);
    p50s.push(p50);
    h.record({
      name: `gateway tools/call stdio->stdio, ${labels[k]}`,
      p50_ns: Math.round(p50),
      p99_ns: Math.round(percentile(xs, 99)),
      ops_per_s: Math.round(1e9 / (xs.reduce((a, b) => a + b, 0) / xs.length)),
      samples: xs.length,
      note: "SDK client over stdio, interleaved",
    });
  }
  h.record({
    name: "gateway added latency, three guards (p50 difference)",
    p50_ns: Math.round(p50s[1]! - p50s[0]!),
    p99_ns: Number.NaN,
    ops_per_s: 0,
    samples: 0,
    note: "difference of the two rows above",
  });
  for (const c of clients) await c.close();
}

export default async function (h: Harness): Promise<void> {
  await builtins(h);
  await wasmGuards(h);
  await gateway(h);
}
