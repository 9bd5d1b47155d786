/**
 * Prepare a core module once: check its size and shape against the limits, instrument it
 * (fuel/deadline metering, resettable globals), lower its declared memory and table maxima to
 * the limits, compile it, and cache the result by sha256 of the bytes and the settings.
 */
import { createHash } from "node:crypto";
import { binaryKind, capLimits, hasPassiveData, layout, usesGcTypes } from "./binary.js";
import {
  type CachedInstrumentation,
  defaultModuleCacheDir,
  diskKey,
  readEntry,
  unsafeDirReason,
  writeEntry,
} from "./disk-cache.js";
import { sandboxError } from "./errors.js";
import { INSTRUMENTATION_VERSION, instrument, RT_MODULE } from "./instrument.js";
import { type Limits, type LimitsInput, PAGE, resolveLimits } from "./limits.js";

export interface FunctionSignature {
  params: string[];
  results: string[];
}

/** An instrumented, compiled module: cheap to instantiate many times. Frozen. */
export interface PreparedModule {
  readonly name: string;
  readonly sha256: string;
  /** Size of the original bytes. */
  readonly size: number;
  readonly limits: Readonly<Limits>;
  /** The instrumented module (imports `warden_rt.fuel` and `warden_rt.tick` besides its own). */
  readonly module: WebAssembly.Module;
  /** The original module's imports and exports (without Warden's own). */
  readonly imports: readonly WebAssembly.ModuleImportDescriptor[];
  readonly exports: readonly WebAssembly.ModuleExportDescriptor[];
  readonly signatures: ReadonlyMap<string, FunctionSignature>;
  /** Declared initial memory of the module's own memory, in bytes (null: none). */
  readonly initialMemoryBytes: number | null;
  /** Largest function body in bytes (bounds the work between two budget checks). */
  readonly maxBodyBytes: number;
  /**
   * True when a used instance can be reset to its initial image (memory + globals): no table
   * writes, no passive data segments, no GC types. Otherwise fresh evaluations re-instantiate.
   */
  readonly resettable: boolean;
  /** True when the instrumented bytes came from the on-disk cache (Binaryen did not run). */
  readonly fromDiskCache: boolean;
  /** Why the disk cache was not used, or why its entry was rebuilt (null: nothing to say). */
  readonly diskCacheNote: string | null;
}

export interface PrepareOptions {
  name?: string;
  limits?: LimitsInput | Readonly<Limits>;
  /**
   * Directory of the on-disk cache of instrumented modules (default `$WARDEN_CACHE_DIR`, else
   * `$XDG_CACHE_HOME/warden/modules`, else `~/.cache/warden/modules`); `false` disables it.
   */
  cacheDir?: string | false;
}

const CACHE_MAX = 128;
const cache = new Map<string, Promise<PreparedModule>>();
const byModule = new WeakMap<WebAssembly.Module, PreparedModule>();

/** The PreparedModule a compiled module came from, if it was made by prepareModule. */
export function preparedOf(module: WebAssembly.Module): PreparedModule | undefined {
  return byModule.get(module);
}

export function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Check and instrument (or read the disk cache); returns what compile needs. */
async function check(
  bytes: Uint8Array,
  hash: string,
  name: string,
  limits: Readonly<Limits>,
  cacheDir: string | false,
) {
  if (bytes.length > limits.max_module_bytes) {
    throw sandboxError(
      "too_large",
      name,
      `module is ${bytes.length} bytes, over max_module_bytes=${limits.max_module_bytes}; raise the limit or shrink the module`,
      { limit: "max_module_bytes", size: bytes.length },
    );
  }
  const kind = binaryKind(bytes);
  if (kind !== "core") {
    throw sandboxError(
      "compile_error",
      name,
      kind === "component"
        ? "this is a WebAssembly component, not a core module; the JSON ABI needs a core module (components run as guards)"
        : "this is not a WebAssembly module (bad magic number or version)",
      { kind },
    );
  }
  let original: WebAssembly.Module;
  try {
    original = new WebAssembly.Module(bytes);
  } catch (error) {
    throw sandboxError(
      "compile_error",
      name,
      `invalid WebAssembly: ${(error as Error).message}`,
      {},
      error,
    );
  }
  // The metering imports are Warden's own: a module that imports them could refill its fuel.
  const own = WebAssembly.Module.imports(original).find((i) => i.module === RT_MODULE);
  if (own) {
    throw sandboxError(
      "link_error",
      name,
      `imports ${own.module}.${own.name}, which is reserved for Warden's metering`,
      { import: `${own.module}.${own.name}` },
    );
  }
  const lay = layout(bytes);
  const mems = [...lay.importedMemories, ...lay.memories];
  if (mems.length > 1) {
    throw sandboxError(
      "compile_error",
      name,
      "modules with more than one memory are not supported",
      {},
    );
  }
  for (const m of mems) {
    if (m.shared || m.memory64 || m.exotic) {
      throw sandboxError(
        "compile_error",
        name,
        "shared, 64-bit and custom-page-size memories are not supported; build for wasm32 without threads",
        {},
      );
    }
    if (m.min * PAGE > limits.memory_limit_bytes) {
      throw sandboxError(
        "memory_exceeded",
        name,
        `declared initial memory ${m.min * PAGE} bytes exceeds memory_limit_bytes=${limits.memory_limit_bytes}; raise the limit or lower the module's initial memory`,
        { limit: "memory_limit_bytes", initial_bytes: m.min * PAGE },
      );
    }
  }
  for (const t of [...lay.importedTables, ...lay.tables]) {
    if (t.min > limits.table_elements || t.memory64) {
      throw sandboxError(
        "too_large",
        name,
        `declares a table of ${t.min} elements, over table_elements=${limits.table_elements}; raise the limit`,
        { limit: "table_elements", elements: t.min },
      );
    }
  }
  if (lay.tablesWithInit > 0) {
    throw sandboxError(
      "compile_error",
      name,
      "tables with initializer expressions are not supported",
      {},
    );
  }
  let note: string | null = null;
  let dir: string | false = cacheDir;
  if (dir !== false) {
    const unsafe = unsafeDirReason(dir);
    if (unsafe !== undefined) {
      note = `disk cache not used: ${unsafe}`;
      dir = false;
    }
  }
  const key = diskKey(hash, limits);
  let inst: CachedInstrumentation | undefined;
  if (dir !== false) {
    const r = readEntry(dir, key);
    if (typeof r !== "string") inst = r;
    else if (r !== "miss") note = r;
  }
  const fromDiskCache = inst !== undefined;
  if (inst === undefined) {
    let result: Awaited<ReturnType<typeof instrument>>;
    try {
      result = await instrument(bytes);
    } catch (error) {
      throw sandboxError(
        "compile_error",
        name,
        `cannot instrument the module: ${(error as Error).message}`,
        {},
        error,
      );
    }
    const pages = Math.floor(limits.memory_limit_bytes / PAGE);
    inst = {
      bytes: capLimits(result.bytes, pages, limits.table_elements),
      writesTables: result.writesTables,
      signatures: result.signatures,
    };
    if (dir !== false) note = writeEntry(dir, key, inst) ?? note;
  }
  return {
    original,
    capped: inst.bytes,
    lay,
    signatures: inst.signatures,
    resettable: !inst.writesTables && !hasPassiveData(bytes) && !usesGcTypes(bytes),
    initialMemoryBytes: lay.memories[0] ? lay.memories[0].min * PAGE : null,
    fromDiskCache,
    note,
  };
}

function keyOf(hash: string, limits: Readonly<Limits>): string {
  return `${hash}:${INSTRUMENTATION_VERSION}:${limits.memory_limit_bytes}:${limits.table_elements}:${limits.max_module_bytes}`;
}

function finish(
  name: string,
  hash: string,
  bytes: Uint8Array,
  limits: Readonly<Limits>,
  c: Awaited<ReturnType<typeof check>>,
  module: WebAssembly.Module,
): PreparedModule {
  const prepared: PreparedModule = Object.freeze({
    name,
    sha256: hash,
    size: bytes.length,
    limits,
    module,
    imports: Object.freeze(WebAssembly.Module.imports(c.original)),
    exports: Object.freeze(WebAssembly.Module.exports(c.original)),
    signatures: c.signatures,
    initialMemoryBytes: c.initialMemoryBytes,
    maxBodyBytes: c.lay.maxBodyBytes,
    resettable: c.resettable,
    fromDiskCache: c.fromDiskCache,
    diskCacheNote: c.note,
  });
  byModule.set(module, prepared);
  return prepared;
}

function remember(key: string, p: Promise<PreparedModule>): void {
  cache.set(key, p);
  p.catch(() => cache.delete(key));
  if (cache.size > CACHE_MAX) cache.delete(cache.keys().next().value as string);
}

/** Forget the in-memory cache (tests: the next prepare starts as a new process would). */
export function clearPreparedCache(): void {
  cache.clear();
}

/**
 * Check, instrument and compile `bytes` under `limits`: cached in memory by sha256 + settings,
 * and the instrumented bytes on disk (see disk-cache.ts) unless `cacheDir` is false.
 */
export function prepareModule(
  bytes: Uint8Array,
  options: PrepareOptions = {},
): Promise<PreparedModule> {
  const name = options.name ?? "module";
  const limits = resolveLimits(options.limits, name);
  const hash = sha256(bytes);
  const key = keyOf(hash, limits);
  const cacheDir = options.cacheDir ?? defaultModuleCacheDir();
  const hit = cache.get(key);
  if (hit)
    return hit.then((p) =>
      p.name === name && p.limits === limits ? p : Object.freeze({ ...p, name, limits }),
    );
  const p = (async () => {
    const c = await check(bytes, hash, name, limits, cacheDir);
    const module = await WebAssembly.compile(c.capped).catch((error: unknown) => {
      throw sandboxError(
        "compile_error",
        name,
        `instrumented module does not compile: ${(error as Error).message}`,
        {},
        error,
      );
    });
    return finish(name, hash, bytes, limits, c, module);
  })();
  remember(key, p);
  return p;
}
