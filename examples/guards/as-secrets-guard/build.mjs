#!/usr/bin/env node
// Build guard.ts into a JSON ABI core module: node build.mjs [out.wasm]
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import asc from "assemblyscript/asc";

const here = dirname(fileURLToPath(import.meta.url));
const out = process.argv[2] ?? join(here, "secrets-guard.wasm");
const result = await asc.main([
  join(here, "guard.ts"),
  "--outFile",
  out,
  "--optimizeLevel",
  "3",
  // A guard's instance lives long (its state persists), so use a runtime that collects garbage.
  "--runtime",
  "incremental",
  "--use",
  "abort=",
]);
if (result.error) {
  process.stderr.write(result.stderr.toString());
  process.exit(1);
}
process.stdout.write(`${relative(process.cwd(), out)}: built\n`);
