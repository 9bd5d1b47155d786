#!/usr/bin/env node
// Build the example rule plugins into OUTDIR (default: this folder):
//   node examples/rules/plugins/build.mjs [OUTDIR]
// - fraud-scorer.wasm from fraud-scorer/index.ts (AssemblyScript: npm assemblyscript);
// - spam-detector.wasm from spam-detector/detector.c (clang --target=wasm32, freestanding;
//   $WASI_CLANG, else `clang`; Debian: apt-get install clang lld). `--only as` or `--only c`
//   builds one.
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const onlyAt = args.indexOf("--only");
const only = onlyAt >= 0 ? args[onlyAt + 1] : undefined;
const out = args.find((a, i) => !a.startsWith("--") && (onlyAt < 0 || i !== onlyAt + 1)) ?? here;
mkdirSync(out, { recursive: true });

if (only === undefined || only === "as") {
  const { default: asc } = await import("assemblyscript/asc");
  const r = await asc.main([
    join(here, "fraud-scorer", "index.ts"),
    "--outFile",
    join(out, "fraud-scorer.wasm"),
    "--optimizeLevel",
    "3",
    "--runtime",
    "stub",
    "--use",
    "abort=",
  ]);
  if (r.error) throw new Error(`asc failed: ${r.error.message}\n${r.stderr}`);
}
if (only === undefined || only === "c") {
  execFileSync(
    process.env.WASI_CLANG || "clang",
    [
      "--target=wasm32",
      "-O2",
      "-std=c11",
      "-Wall",
      "-Werror",
      "-nostdlib",
      "-Wl,--no-entry",
      "-Wl,--strip-all",
      "-o",
      join(out, "spam-detector.wasm"),
      join(here, "spam-detector", "detector.c"),
    ],
    { stdio: "inherit" },
  );
}
