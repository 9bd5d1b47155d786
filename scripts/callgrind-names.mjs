#!/usr/bin/env node
/**
 * Names the JIT code in a callgrind profile of Node: `callgrind_annotate` shows V8's generated
 * code as bare addresses (`???:0x000000000d115a40`); Node run with `--perf-basic-prof` (as
 * `scripts/proxy-cost.mjs --callgrind=FILE` runs it) writes /tmp/perf-<pid>.map, address ranges
 * with the function each holds (`JS:*readFieldsStrict file:///…/http-fields.js:104:33`; `*` is
 * optimized code, `^` baseline, `~` interpreted).
 *
 *   node scripts/callgrind-names.mjs FILE [/tmp/perf-PID.map] [rows, default 40]
 *
 * Without a map the newest /tmp/perf-*.map is used (the run that wrote FILE, if nothing else ran
 * Node with --perf-basic-prof since). Prints instructions, share and name per row, the named
 * ones in place of their addresses, the rest (V8, libc, kernel) as callgrind_annotate gives them.
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";

const [file, mapArg, rowsArg] = process.argv.slice(2);
if (file === undefined) {
  process.stderr.write(
    "usage: node scripts/callgrind-names.mjs CALLGRIND_FILE [/tmp/perf-PID.map] [rows]\n",
  );
  process.exit(2);
}
const rows = Number(rowsArg ?? 40);
let map = mapArg;
if (map === undefined) {
  const maps = readdirSync("/tmp")
    .filter((f) => /^perf-\d+\.map$/.test(f))
    .map((f) => `/tmp/${f}`)
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  if (maps.length === 0) {
    process.stderr.write("no /tmp/perf-*.map: run the profiled Node with --perf-basic-prof\n");
    process.exit(2);
  }
  map = maps[0];
}
/** [start, end, name], in map order: a later entry for an address is newer code. */
const ranges = readFileSync(map, "utf8")
  .split("\n")
  .filter(Boolean)
  .map((l) => {
    const [a, s, ...name] = l.split(" ");
    const start = Number.parseInt(a, 16);
    return [start, start + Number.parseInt(s, 16), name.join(" ")];
  });
function nameOf(addr) {
  for (let i = ranges.length - 1; i >= 0; i--) {
    const [s, e, n] = ranges[i];
    if (addr >= s && addr < e) return n;
  }
  return undefined;
}
let out;
try {
  out = execFileSync("callgrind_annotate", [file], { encoding: "utf8", maxBuffer: 64 << 20 });
} catch (e) {
  process.stderr.write(
    `callgrind-names: callgrind_annotate ${file} failed (${e.message.split("\n")[0]}): is valgrind installed (apt-get install valgrind) and ${file} a callgrind output file?\n`,
  );
  process.exit(2);
}
let shown = 0;
process.stdout.write(`# ${file}, JIT names from ${map}\n`);
for (const line of out.split("\n")) {
  const m = /^\s*([\d,]+) \(\s*([\d.]+)%\)\s+(.*)$/.exec(line);
  if (m === null) continue;
  const [, ir, share, what] = m;
  if (what.includes("PROGRAM TOTALS")) {
    process.stdout.write(`${ir} (100%) total\n`);
    continue;
  }
  const jit = /^\?\?\?:0x([0-9a-f]+)/.exec(what);
  const name = jit === null ? what : (nameOf(Number.parseInt(jit[1], 16)) ?? what);
  process.stdout.write(`${ir} (${share}%) ${name}\n`);
  if (++shown >= rows) break;
}
