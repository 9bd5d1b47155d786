/**
 * The strace layer's whole-program cost (issue 22): wall time of a small `tsc` build (40
 * generated files, typescript from node_modules) untraced, under `warden run --no-strace`
 * (the Node agent only) and under `warden run` with the strace layer on, run in turns (5
 * rounds, the order alternating), median of 5 each; the ratios to the untraced run are in the
 * notes. `npm run bench -- --only strace`. Skipped (a note row) where strace cannot trace.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { probeStrace } from "../src/trace/strace/probe.js";
import type { Harness } from "./harness.js";

const here = dirname(fileURLToPath(import.meta.url));
const ROOT = join(here, "..", "..");
const CLI = join(ROOT, "dist", "cli", "main.js");
const TSC = join(ROOT, "node_modules", "typescript", "bin", "tsc");
const ROUNDS = 5;

function project(dir: string): void {
  for (let i = 0; i < 40; i++) {
    const dep = i === 0 ? "" : `import { f${i - 1} } from "./m${i - 1}.js";\n`;
    writeFileSync(
      join(dir, `m${i}.ts`),
      `${dep}export interface R${i} { readonly n: number; readonly s: string }\nexport function f${i}(x: number): R${i} {\n  return { n: x + ${i}${i === 0 ? "" : ` + f${i - 1}(x).n`}, s: String(x) };\n}\n`,
    );
  }
  writeFileSync(
    join(dir, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: { module: "nodenext", target: "es2022", outDir: "out", strict: true },
      include: ["*.ts"],
    }),
  );
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

export default async function (h: Harness): Promise<void> {
  const probe = probeStrace();
  const dir = mkdtempSync(join(tmpdir(), "warden-bench-strace-"));
  try {
    project(dir);
    const tsc = [process.execPath, TSC, "-p", dir];
    const cases = [
      { name: "tsc build (40 files), untraced", argv: tsc },
      {
        name: "tsc build under warden run --no-strace",
        argv: [process.execPath, CLI, "run", "--no-strace", "--", ...tsc],
      },
      ...(probe.ok
        ? [
            {
              name: `tsc build under warden run, strace ${probe.setup.version}${probe.setup.seccomp ? " --seccomp-bpf" : ""}`,
              argv: [process.execPath, CLI, "run", "--strace", "--", ...tsc],
            },
          ]
        : []),
    ];
    const times: number[][] = cases.map(() => []);
    // One warm-up of each (disk cache, compile cache), then the rounds in alternating order.
    for (const c of cases) spawnSync(c.argv[0]!, c.argv.slice(1), { cwd: dir, stdio: "ignore" });
    for (let r = 0; r < (h.quick ? 2 : ROUNDS); r++) {
      const order = cases.map((_, i) => i);
      if (r % 2 === 1) order.reverse();
      for (const i of order) {
        const c = cases[i]!;
        const t0 = process.hrtime.bigint();
        const x = spawnSync(c.argv[0]!, c.argv.slice(1), { cwd: dir, stdio: "ignore" });
        const dt = Number(process.hrtime.bigint() - t0);
        if (x.status !== 0) throw new Error(`${c.name}: exit ${x.status}`);
        times[i]!.push(dt);
      }
    }
    const base = median(times[0]!);
    cases.forEach((c, i) => {
      const t = times[i]!;
      const m = median(t);
      h.record({
        name: c.name,
        p50_ns: Math.round(m),
        p99_ns: Math.round(Math.max(...t)),
        ops_per_s: Math.round((1e9 / m) * 100) / 100,
        samples: t.length,
        note:
          i === 0
            ? "median wall time"
            : `${(m / base).toFixed(2)}x untraced (median of ${t.length})`,
      });
    });
    if (!probe.ok)
      h.record({
        name: "tsc build under warden run with strace",
        p50_ns: Number.NaN,
        p99_ns: Number.NaN,
        ops_per_s: 0,
        samples: 0,
        note: `not measured: ${probe.reason}`,
      });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
