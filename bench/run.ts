/**
 * `npm run bench [-- --json] [-- --only <group,...>] [-- --quick]`
 *
 * `floor` (bench/floor.bench.ts, what the standard HTTP stack's floor is made of) runs only when
 * named: `npm run bench -- --only floor`.
 * Runs every `bench/*.bench.ts` (compiled to dist-bench/bench/*.bench.js). Each exports
 * `default async function (h: Harness): Promise<void>` and records cases through `h`.
 * Prints a Markdown table (or, with --json, a JSON array: one object per case with name,
 * p50_ns, p99_ns, ops_per_s) and writes the JSON to bench/results/latest.json. Every group
 * runs in a fresh Node process of its own (see `--child` below).
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { type CaseResult, formatTable, Harness } from "./harness.js";

const args = process.argv.slice(2);
const json = args.includes("--json");
const quick = args.includes("--quick");
const onlyIdx = args.indexOf("--only");
const only = onlyIdx >= 0 ? new Set((args[onlyIdx + 1] ?? "").split(",").filter(Boolean)) : null;

const here = dirname(fileURLToPath(import.meta.url));
const files = readdirSync(here)
  .filter((f) => f.endsWith(".bench.js"))
  .sort();
/**
 * The core's raw speed right now, printed with every run: a dependent integer multiply-add
 * loop of 10^8 steps, best of three (ms). It sees clock speed and throttling only, not cache or
 * memory contention from neighbours: on 2026-12-01 it read 138 ms on the project's VM while
 * every policy figure was 2 to 4 times the one measured there on 2026-11-24.
 */
function calibrate(): number {
  let best = Number.POSITIVE_INFINITY;
  for (let k = 0; k < 3; k++) {
    const t0 = process.hrtime.bigint();
    let x = 0;
    for (let i = 0; i < 1e8; i++) x = (x * 31 + i) | 0;
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e6);
    if (x === 42) process.stderr.write("");
  }
  return Math.round(best);
}
/**
 * Each group runs in a fresh Node process of its own (`--child`): run in one process, a group
 * measured after the others inherited their heap, JIT state and leftover timers (in one
 * whole-suite run on 2026-12-01 the mcp rows came out up to 3x those of `--only mcp` runs around
 * it; the machine may have been the cause, this removes the other candidate).
 * The child prints its results as JSON on stdout; progress goes to stderr as before.
 */
const child = args.includes("--child");
/** Groups run only when named in --only (diagnostics, not part of a whole run). */
const ON_DEMAND = new Set(["floor", "trace-programs"]);
const groups = files
  .map((f) => f.replace(/\.bench\.js$/, ""))
  .filter((g) => (only ? only.has(g) : !ON_DEMAND.has(g)));
const unknown = [...(only ?? [])].filter((g) => !files.includes(`${g}.bench.js`));
if (unknown.length > 0) {
  process.stderr.write(
    `bench: no group named ${unknown.join(", ")}; the groups are ${files.map((f) => f.replace(/\.bench\.js$/, "")).join(", ")}\n`,
  );
  process.exit(2);
}
const loopMs = child ? 0 : calibrate();
if (!json && !child) process.stderr.write(`bench: calibration loop (10^8 steps) ${loopMs} ms\n`);
const h = new Harness({ quick });
for (const group of groups) {
  h.group = group;
  if (!child) {
    if (!json) process.stderr.write(`bench: ${group}...\n`);
    const out = spawnSync(
      process.execPath,
      [fileURLToPath(import.meta.url), "--child", "--only", group, ...(quick ? ["--quick"] : [])],
      { stdio: ["ignore", "pipe", "inherit"], encoding: "utf8", maxBuffer: 1 << 26 },
    );
    if (out.status !== 0) {
      process.stderr.write(
        `bench: group ${group} failed (exit ${out.status}; its error is above); rerun it alone with npm run bench -- --only ${group}\n`,
      );
      process.exit(1);
    }
    for (const r of JSON.parse(out.stdout) as CaseResult[]) h.results.push(r);
    continue;
  }
  const mod = (await import(pathToFileURL(join(here, `${group}.bench.js`)).href)) as {
    default: (h: Harness) => Promise<void>;
  };
  await mod.default(h);
}
if (child) {
  process.stdout.write(JSON.stringify(h.results));
  process.exit(0);
}
const root = resolve(here, "../..");
mkdirSync(join(root, "bench/results"), { recursive: true });
const out = {
  machine: {
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpus: (await import("node:os")).cpus().length,
    calibration_loop_ms: loopMs,
  },
  date: new Date().toISOString(),
  results: h.results,
};
writeFileSync(join(root, "bench/results/latest.json"), `${JSON.stringify(out, null, 2)}\n`);
if (json) process.stdout.write(`${JSON.stringify(h.results, null, 2)}\n`);
else
  process.stdout.write(
    `${formatTable(h.results)}\n\nMachine: node ${process.version}, ${out.machine.cpus} CPUs, calibration loop (10^8 steps) ${loopMs} ms.\n`,
  );
