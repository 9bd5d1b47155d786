/**
 * Run by bench/trace.bench.ts, traced (`warden run`'s agent preloaded) or not: measures
 * fs.statSync and fs.readFileSync of paths seen before, and the first sight of a path, in this
 * process, and prints the results as JSON on stdout. Argument: a folder with `small.txt` and
 * `many/0..N-1`.
 */
import { createRequire } from "node:module";
import { join } from "node:path";
import { Harness } from "./harness.js";

const fs = createRequire(import.meta.url)("node:fs") as typeof import("node:fs");
const dir = process.argv[2]!;
const quick = process.argv.includes("--quick");
const h = new Harness({ quick });
// First sight first: each of the files once (the agent judges each with its real path
// resolved), before the measurements below fill the channel to its backpressure limit.
const many = join(dir, "many");
const n = fs.readdirSync(many).length;
const t0 = process.hrtime.bigint();
for (let i = 0; i < n; i++) fs.statSync(join(many, String(i)));
const firstNs = Number(process.hrtime.bigint() - t0) / n;
const small = join(dir, "small.txt");
const results = [
  h.measure("statSync", () => fs.statSync(small)),
  h.measure("readFileSync", () => fs.readFileSync(small)),
];
process.stdout.write(
  `${JSON.stringify({ results, first_sight_ns: firstNs, traced: process.env.WARDEN_TRACE_URL !== undefined })}\n`,
);
