/** Test helpers: build the WAT corpus in fixtures/ with wabt (at test time, nothing checked in). */
import { readFileSync } from "node:fs";
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
