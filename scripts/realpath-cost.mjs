#!/usr/bin/env node
/**
 * What following symbolic links costs a gateway check (issue 18): one `tool.call` with a `path`
 * argument constraint, judged as a string (remembered per input) and with
 * `realPath: resolveRealPathSync` (one `realpath(3)` per call, not remembered), on a file five
 * levels down in a temp dir, on a link to it, and on a file not yet created (the walk up to the
 * existing parent). Median of 7 rounds of 20,000 calls each, per check: wall time, and CPU
 * time (user + system, from process.cpuUsage: less moved by other processes on a busy machine).
 * `realpath(3)` makes one readlink system call per path component (strace -c: 7 for the file
 * below, whose path has 7 components), so the figure grows with depth, not with the policy.
 *
 *   npm run build && node scripts/realpath-cost.mjs
 */
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const root = resolve(import.meta.dirname, "..");
const { compilePolicy, resolveRealPathSync } = await import(
  pathToFileURL(join(root, "dist/policy/index.js")).href
);

const dir = realpathSync(mkdtempSync(join(tmpdir(), "warden-realpath-cost-")));
const deep = join(dir, "data", "pub", "a", "b", "c");
mkdirSync(deep, { recursive: true });
writeFileSync(join(deep, "f.txt"), "x");
symlinkSync(join(deep, "f.txt"), join(dir, "data", "pub", "link.txt"));

const r = compilePolicy(
  `mcp:\n  tools:\n    allow:\n      - name: read_text_file\n        parameters: { path: "${dir}/data/**" }\n`,
  { file: "cost.yaml" },
);
if (!r.ok) throw new Error(JSON.stringify(r.errors));
const policy = r.policy;
const LOCAL = Object.freeze({ realPath: resolveRealPathSync });
const N = 20_000;
const ROUNDS = 7;

function measure(path, opts) {
  const action = { kind: "tool.call", name: "read_text_file", arguments: { path } };
  if (!policy.check(action, opts).allowed) throw new Error(`not allowed: ${path}`);
  const wall = [];
  const cpu = [];
  for (let k = 0; k < ROUNDS; k++) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < N; i++) policy.check(action, opts);
    wall.push(Number(process.hrtime.bigint() - t0) / N);
    const c = process.cpuUsage(c0);
    cpu.push(((c.user + c.system) * 1000) / N);
  }
  const mid = (a) => Math.round(a.sort((x, y) => x - y)[ROUNDS >> 1]);
  return `${mid(wall)} / ${mid(cpu)}`;
}

const cases = [
  ["existing file, 6 levels", join(deep, "f.txt")],
  ["link to it", join(dir, "data", "pub", "link.txt")],
  ["file not yet created", join(deep, "new", "g.txt")],
];
const rows = [];
for (const [what, path] of cases) {
  if (what === "link to it") {
    rows.push({
      case: what,
      "as string": "-",
      resolved: measure(path, LOCAL),
    });
    continue;
  }
  rows.push({
    case: what,
    "as string": measure(path, undefined),
    resolved: measure(path, LOCAL),
  });
}
console.table(rows);
console.log(
  `ns per check, wall / CPU; node ${process.version}, ${N} checks x ${ROUNDS} rounds, median round`,
);
rmSync(dir, { recursive: true, force: true });
