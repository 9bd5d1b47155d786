/**
 * Load-time instrumentation with Binaryen (the module is rewritten once, then cached):
 *
 * - `memory.copy` / `memory.fill` are lowered to loops, so bulk operations are metered too;
 * - every function entry, function exit and loop head decrements a mutable i32 global (the fuel
 *   counter, imported as `warden_rt.fuel`); when it drops below zero the code calls the imported `warden_rt.tick`, which
 *   checks the deadline and the fuel budget and either refills the counter or throws to unwind;
 * - every mutable global gets a shadow copy, with exported `__warden_save` / `__warden_restore`
 *   functions, so a pooled instance can be reset to its initial state without re-instantiation.
 */
import type B from "binaryen";

type Binaryen = typeof B;
/** Loaded on first use: Binaryen is large, and most commands never instrument anything. */
let binaryen: Binaryen;
let loading: Promise<Binaryen> | undefined;

function loadBinaryen(): Promise<Binaryen> {
  loading ??= import("binaryen").then((m) => {
    binaryen = m.default;
    return binaryen;
  });
  return loading;
}

export const RT_MODULE = "warden_rt";
const FUEL_GLOBAL = "__warden_fuel";
export const SAVE_EXPORT = "__warden_save";
export const RESTORE_EXPORT = "__warden_restore";
/** Bumped whenever the instrumentation changes, so cached modules are never mixed up. */
export const INSTRUMENTATION_VERSION = 1;

// What Node 20's V8 runs. Not enabled on purpose: GC (binaryen would emit bottom heap types V8
// 11 cannot read), memory64 and multi-memory (refused earlier; the bulk-memory lowering needs one
// 32-bit memory), and encodings V8 does not read (compact imports, custom descriptors, strings).
// Enabling a feature the module does not use changes nothing; V8 validated the module first.
function features(): number {
  const F = binaryen.Features;
  return (
    F.MVP |
    F.MutableGlobals |
    F.NontrappingFPToInt |
    F.SIMD128 |
    F.BulkMemory |
    F.BulkMemoryOpt |
    F.SignExt |
    F.ExceptionHandling |
    F.TailCall |
    F.ReferenceTypes |
    F.Multivalue |
    F.ExtendedConst |
    F.Atomics |
    F.RelaxedSIMD
  );
}

/** Bulk memory operations are charged one unit per this many bytes. */
export const BYTES_PER_UNIT = 64;

// The typings declare these wrongly (module argument) or as const enums; the runtime has them.
function writesTable(expr: number, mod: B.Module): boolean {
  const effects = (binaryen.getSideEffects as unknown as (e: number, m: B.Module) => number)(
    expr,
    mod,
  );
  const bits = (binaryen as unknown as { SideEffects: Record<string, number> }).SideEffects;
  return (effects & (bits.WritesTable as number)) !== 0;
}

const RESERVED_FUNCS = ["log_execution", "__memory_copy", "__memory_fill", "__warden_tick"];

export interface Instrumented {
  bytes: Uint8Array;
  /** True when some function can write a table (table.set/grow/fill/copy/init). */
  writesTables: boolean;
  /** Signatures of exported functions: export name -> [params, results] as wasm type names. */
  signatures: Map<string, { params: string[]; results: string[] }>;
}

function typeNames(t: number): string[] {
  const names: Record<number, string> = {
    [binaryen.none]: "none",
    [binaryen.i32]: "i32",
    [binaryen.i64]: "i64",
    [binaryen.f32]: "f32",
    [binaryen.f64]: "f64",
    [binaryen.v128]: "v128",
  };
  return binaryen.expandType(t).map((x) => names[x] ?? "ref");
}

/** Instrument `bytes` (already validated by V8). Throws an Error whose message says why not. */
export async function instrument(bytes: Uint8Array): Promise<Instrumented> {
  await loadBinaryen();
  const mod = binaryen.readBinary(bytes);
  try {
    mod.setFeatures(features());
    for (const name of RESERVED_FUNCS) {
      if (mod.getFunction(name)) {
        throw new Error(`the module defines a function named "${name}", which Warden reserves`);
      }
    }
    if (mod.getGlobal(FUEL_GLOBAL)) {
      throw new Error(`the module defines a global named "${FUEL_GLOBAL}", which Warden reserves`);
    }
    for (const name of [SAVE_EXPORT, RESTORE_EXPORT]) {
      if (mod.getExport(name))
        throw new Error(`the module exports "${name}", which Warden reserves`);
    }
    const signatures = new Map<string, { params: string[]; results: string[] }>();
    for (let i = 0; i < mod.getNumExports(); i++) {
      const info = binaryen.getExportInfo(mod.getExportByIndex(i));
      if (info.kind !== binaryen.ExternalFunction) continue;
      const f = binaryen.getFunctionInfo(mod.getFunction(info.value));
      signatures.set(info.name, { params: typeNames(f.params), results: typeNames(f.results) });
    }

    let writesTables = false;
    for (let i = 0; i < mod.getNumFunctions(); i++) {
      const f = binaryen.getFunctionInfo(mod.getFunctionByIndex(i));
      if (f.module || !f.body) continue;
      if (writesTable(f.body, mod)) {
        writesTables = true;
        break;
      }
    }

    // memory.copy/fill become calls to __memory_copy/__memory_fill (re-defined below).
    if (mod.hasMemory()) mod.runPasses(["llvm-memory-copy-fill-lowering"]);
    mod.setFeatures(features());
    mod.runPasses(["log-execution"]);

    // Replace the logger import the pass added with the inline fuel check.
    mod.removeFunction("log_execution");
    // The counter is imported, so the host owns it before the start function runs.
    mod.addGlobalImport(FUEL_GLOBAL, RT_MODULE, "fuel", binaryen.i32, true);
    mod.addFunctionImport("__warden_tick", RT_MODULE, "tick", binaryen.none, binaryen.none);
    const fuel = () => mod.global.get(FUEL_GLOBAL, binaryen.i32);
    mod.addFunction(
      "log_execution",
      binaryen.i32,
      binaryen.none,
      [],
      mod.block(null, [
        mod.global.set(FUEL_GLOBAL, mod.i32.sub(fuel(), mod.i32.const(1))),
        mod.if(
          mod.i32.lt_s(fuel(), mod.i32.const(0)),
          mod.call("__warden_tick", [], binaryen.none),
        ),
      ]),
    );
    addGlobalSnapshots(mod);
    meterBulkMemory(mod, fuel);

    binaryen.setAlwaysInlineMaxSize(16);
    mod.runPasses(["inlining"]);
    if (!mod.validate()) throw new Error("instrumented module failed validation");
    return { bytes: mod.emitBinary(), writesTables, signatures };
  } finally {
    mod.dispose();
  }
}

/**
 * Re-define the lowering pass's __memory_copy/__memory_fill as the native instruction preceded
 * by a fuel charge proportional to the size, so bulk operations are metered at native speed.
 */
function meterBulkMemory(mod: B.Module, fuel: () => number): void {
  const i32 = binaryen.i32;
  for (const name of ["__memory_copy", "__memory_fill"]) {
    if (!mod.getFunction(name)) continue;
    mod.removeFunction(name);
    const get = (i: number) => mod.local.get(i, i32);
    const op =
      name === "__memory_copy"
        ? mod.memory.copy(get(0), get(1), get(2))
        : mod.memory.fill(get(0), get(1), get(2));
    mod.addFunction(
      name,
      binaryen.createType([i32, i32, i32]),
      binaryen.none,
      [],
      mod.block(null, [
        mod.global.set(
          FUEL_GLOBAL,
          mod.i32.sub(fuel(), mod.i32.shr_u(get(2), mod.i32.const(Math.log2(BYTES_PER_UNIT)))),
        ),
        mod.if(
          mod.i32.lt_s(fuel(), mod.i32.const(0)),
          mod.call("__warden_tick", [], binaryen.none),
        ),
        op,
      ]),
    );
  }
}

/** Shadow every defined mutable global; `__warden_save` copies in, `__warden_restore` back. */
function addGlobalSnapshots(mod: B.Module): void {
  const save: number[] = [];
  const restore: number[] = [];
  const n = mod.getNumGlobals();
  for (let i = 0; i < n; i++) {
    const g = binaryen.getGlobalInfo(mod.getGlobalByIndex(i));
    if (!g.mutable || g.module) continue;
    const shadow = `__warden_shadow_${i}`;
    mod.addGlobal(shadow, g.type, true, mod.copyExpression(g.init));
    save.push(mod.global.set(shadow, mod.global.get(g.name, g.type)));
    restore.push(mod.global.set(g.name, mod.global.get(shadow, g.type)));
  }
  mod.addFunction(SAVE_EXPORT, binaryen.none, binaryen.none, [], mod.block(null, save));
  mod.addFunction(RESTORE_EXPORT, binaryen.none, binaryen.none, [], mod.block(null, restore));
  mod.addFunctionExport(SAVE_EXPORT, SAVE_EXPORT);
  mod.addFunctionExport(RESTORE_EXPORT, RESTORE_EXPORT);
}
