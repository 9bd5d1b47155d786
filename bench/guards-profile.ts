/**
 * Where a component guard's time goes (docs/guards.md, "Costs"): the JS and C example guards
 * on evaluate-tools-list (50 tools) and evaluate-tool-invoke, interleaved in one process:
 *
 * - with every limit (the pipeline, as the gateway runs it);
 * - the same, with the sandbox's chunk bound lifted (an experiment: Budget.boundChunkByCode
 *   patched out for that pipeline), to show what the host budget checks cost;
 * - the floor: the transpiled component on plain WebAssembly, payload converted beforehand;
 * - Warden's conversion of the 50 tools to WIT records.
 *
 *   npm run build && npx tsc -p tsconfig.bench.json
 *   node dist-bench/bench/run.js --only guards --quick     # builds the example guards once
 *   node dist-bench/bench/guards-profile.js [rounds]
 *
 * Prints the best p50 of the rounds, each round's p50 and the budget checks (ticks) per call.
 */
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseGuardsConfig } from "../src/guards/config.js";
import { loadGuards } from "../src/guards/loader.js";
import type { GuardSet } from "../src/guards/set.js";
import type { GuardTool } from "../src/guards/types.js";
import { toWitContext, toWitInvocation, toWitTool } from "../src/guards/wasm/wit-convert.js";
import { Budget } from "../src/sandbox/budget.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const BUILD = join(root, "test/.build/guards");
const CACHE = join(BUILD, "cache");

function newest(prefix: string): string {
  const f = readdirSync(BUILD)
    .filter((n) => n.startsWith(prefix) && n.endsWith(".wasm"))
    .map((n) => join(BUILD, n))
    .sort((a, b) => statMs(b) - statMs(a))[0];
  if (f === undefined) throw new Error(`no ${prefix}*.wasm in ${BUILD}: run the guards bench once`);
  return f;
}
const statMs = (f: string) => statSync(f).mtimeMs;

let ticks = 0;
const tick = Budget.prototype.tick;
Budget.prototype.tick = function (this: Budget, m) {
  ticks++;
  return tick.call(this, m);
};

const tools: GuardTool[] = Array.from({ length: 50 }, (_, i) => ({
  name: `files_tool_${i}`,
  description: `Reads file number ${i} from the workspace and returns its contents as text.`,
  inputSchema: {
    type: "object",
    properties: {
      path: { type: "string", description: "Absolute path of the file." },
      limit: { type: "integer", description: "How many entries to return (default 100)." },
    },
    required: ["path"],
  },
}));
const ctx = { serverName: "files", knownServers: ["files", "mail", "web"] };
const inv = {
  method: "tools/call",
  name: "files_tool_3",
  arguments: { path: "/srv/data/reports/2024-q3.csv", query: "revenue by region", limit: 100 },
};

async function pipeline(file: string, id: string, uncapped: boolean): Promise<GuardSet> {
  const r = parseGuardsConfig(
    [
      {
        id,
        type: "wasm",
        module_path: file,
        runs_on: ["tools_list", "tool_invoke"],
        timeout_ms: 1000,
        limits: { max_memory_bytes: 64 << 20, max_fuel: 1_000_000_000 },
      },
    ],
    join(root, "warden.yaml"),
  );
  const bound = Budget.prototype.boundChunkByCode;
  if (uncapped) Budget.prototype.boundChunkByCode = () => {};
  try {
    return await loadGuards(r.guards, { cacheDir: CACHE });
  } finally {
    Budget.prototype.boundChunkByCode = bound;
  }
}

type Exports = Record<string, (...a: unknown[]) => unknown>;
async function floor(file: string): Promise<Exports> {
  const sha = createHash("sha256").update(readFileSync(file)).digest("hex");
  const entry = readdirSync(CACHE).find(
    (d) => d.startsWith(sha) && existsSync(join(CACHE, d, "guard.js")),
  );
  if (entry === undefined) throw new Error(`${file} is not in the transpile cache ${CACHE}`);
  const dir = join(CACHE, entry);
  const mod = (await import(pathToFileURL(join(dir, "guard.js")).href)) as {
    instantiate: (g: unknown, i: unknown, c: unknown) => Promise<Record<string, Exports>>;
  };
  const host = { log() {}, getTime: () => BigInt(Date.now()), getConfig: () => undefined };
  const inst = await mod.instantiate(
    async (p: string) => WebAssembly.compile(readFileSync(join(dir, p))),
    { "mcp:security-guard/host": host, "mcp:security-guard/host@0.1.0": host },
    WebAssembly.instantiate,
  );
  return (inst.guard ?? inst["mcp:security-guard/guard@0.1.0"])!;
}

const cases: [string, () => unknown, number][] = [];
let failed = 0;
const judged = (p: GuardSet, list: boolean) => () => {
  const o = list ? p.run("tools_list", tools, ctx) : p.run("tool_invoke", inv, ctx);
  if (o.trail.some((t) => t.outcome === "failed")) failed++;
  return o;
};
const wt = tools.map(toWitTool);
const wc = toWitContext(ctx, "tools_list");
const wi = toWitInvocation(inv);
for (const [lang, prefix, n] of [
  ["JS", "bench-pattern-guard-", 150],
  ["C", "bench-c-pattern-guard-", 1500],
] as const) {
  const file = newest(prefix);
  const p = await pipeline(file, lang, false);
  const u = await pipeline(file, `${lang}-uncapped`, true);
  const f = await floor(file);
  cases.push(
    [`${lang} tools-list 50, limits`, judged(p, true), n],
    [`${lang} tools-list 50, limits, chunk bound lifted`, judged(u, true), n],
    [`${lang} tools-list 50, floor`, () => f.evaluateToolsList!(wt, wc), n],
    [`${lang} tool-invoke, limits`, judged(p, false), n * 5],
    [`${lang} tool-invoke, limits, chunk bound lifted`, judged(u, false), n * 5],
    [`${lang} tool-invoke, floor`, () => f.evaluateToolInvoke!(wi, wc), n * 5],
  );
}
cases.push(["toWitTool x50", () => tools.map(toWitTool), 1500]);

function p50(fn: () => unknown, n: number): number {
  const xs: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    fn();
    xs.push(Number(process.hrtime.bigint() - t));
  }
  xs.sort((a, b) => a - b);
  return xs[n >> 1]! / 1000;
}

const rounds = Number(process.argv[2] ?? 5);
const out = new Map<string, { us: number[]; ticks: number }>();
for (let r = 0; r < rounds; r++)
  for (const [name, fn, n] of cases) {
    ticks = 0;
    const us = p50(fn, n);
    const e = out.get(name) ?? { us: [], ticks: 0 };
    e.us.push(us);
    e.ticks = ticks / n;
    out.set(name, e);
  }
process.stdout.write(`failed invocations: ${failed} (must be 0)\n`);
for (const [name, e] of out)
  process.stdout.write(
    `${name.padEnd(44)} best p50 ${Math.min(...e.us)
      .toFixed(1)
      .padStart(
        8,
      )} us   ticks/call ${e.ticks.toFixed(1).padStart(7)}   rounds ${e.us.map((x) => x.toFixed(0)).join(" ")}\n`,
  );
process.exit(0);
