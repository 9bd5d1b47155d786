/** Test helpers: build the WAT corpus in fixtures/ with wabt (at test time, nothing checked in). */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import wabtInit from "wabt";

export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), "fixtures");

let wabt: Awaited<ReturnType<typeof wabtInit>> | undefined;

const FEATURES = {
  exceptions: true,
  mutable_globals: true,
  sat_float_to_int: true,
  sign_extension: true,
  simd: true,
  threads: false,
  multi_value: true,
  tail_call: true,
  bulk_memory: true,
  reference_types: true,
  annotations: false,
  gc: false,
};

/** Compile WAT text to a binary module. */
export async function watToWasm(text: string, name = "inline.wat"): Promise<Uint8Array> {
  wabt ??= await wabtInit();
  const mod = wabt.parseWat(name, text, FEATURES);
  try {
    mod.resolveNames();
    mod.validate();
    return new Uint8Array(mod.toBinary({}).buffer);
  } finally {
    mod.destroy();
  }
}

/** Compile fixtures/<name>.wat. */
export function fixture(name: string): Promise<Uint8Array> {
  return watToWasm(readFileSync(join(FIXTURES, `${name}.wat`), "utf8"), `${name}.wat`);
}

export const BUILD = join(FIXTURES, "..", "..", ".build", "sandbox");

let asGuard: Promise<Uint8Array> | undefined;

/** Compile fixtures/as/json-guard.ts with the AssemblyScript compiler (npm `assemblyscript`). */
export function assemblyScriptGuard(): Promise<Uint8Array> {
  asGuard ??= (async () => {
    const { default: asc } = await import("assemblyscript/asc");
    mkdirSync(BUILD, { recursive: true });
    const out = join(BUILD, "json-guard.wasm");
    const result = await asc.main([
      join(FIXTURES, "as", "json-guard.ts"),
      "--outFile",
      out,
      "--optimizeLevel",
      "3",
      "--runtime",
      "stub",
      "--use",
      "abort=",
    ]);
    if (result.error) throw new Error(`asc failed: ${result.error.message}\n${result.stderr}`);
    return new Uint8Array(readFileSync(out));
  })();
  return asGuard;
}

/** Write fixtures/<name>.wat compiled to test/.build/sandbox/<name>.wasm; returns the path. */
export async function fixtureFile(name: string): Promise<string> {
  mkdirSync(BUILD, { recursive: true });
  const path = join(BUILD, `${name}.wasm`);
  writeFileSync(path, await fixture(name));
  return path;
}
