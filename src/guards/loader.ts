import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { WardenError } from "../core/errors.js";
import { binaryKind } from "../sandbox/binary.js";
import type { SharedPins } from "./builtin/pin-store.js";
import { BUILTIN_TYPES } from "./builtin/registry.js";
import type { GuardSpec } from "./config-types.js";
import { GuardSet } from "./set.js";
import type { Guard } from "./types.js";
import { loadComponentGuard } from "./wasm/component.js";
import { loadJsonAbiGuard } from "./wasm/jsonabi.js";
import { sandboxRuntime } from "./wasm/sandbox-runtime.js";

export interface LoadGuardsOptions {
  /**
   * Where transpiled components are cached (default ~/.cache/warden/guards or $WARDEN_CACHE_DIR).
   * Instrumented core modules are cached in the same directory when it is given (default: the
   * sandbox's, ~/.cache/warden/modules or $WARDEN_CACHE_DIR; see docs/sandbox.md).
   */
  cacheDir?: string;
  /** Where WebAssembly guards' `log` lines go. */
  log?: (guard: string, level: string, message: string) => void;
  /**
   * The guards of the configuration being replaced (hot reload): a guard whose entry and
   * module bytes did not change keeps its instance, and so its state.
   */
  previous?: GuardSet;
  /**
   * state.redis: the rug_pull pins every instance shares (the state layer's RedisPins, wired in
   * by the mcp layer). Without it rug_pull keeps its pins file.
   */
  pins?: SharedPins;
}

const fingerprints = new WeakMap<Guard, string>();

function fingerprint(spec: GuardSpec, bytes?: Uint8Array): string {
  const { source: _, ...rest } = spec;
  const h = createHash("sha256").update(JSON.stringify(rest));
  if (bytes) h.update(bytes);
  return h.digest("hex");
}

/** Make one guard from its spec: a built-in, a component or a JSON ABI core module. */
export async function loadGuard(spec: GuardSpec, opts: LoadGuardsOptions = {}): Promise<Guard> {
  const builtin = BUILTIN_TYPES[spec.type];
  if (builtin !== undefined)
    return builtin.create(spec, opts.pins === undefined ? undefined : { pins: opts.pins });
  const file = spec.modulePath;
  if (spec.type !== "wasm" || file === undefined)
    throw new WardenError(
      "guard_config_invalid",
      `Guard "${spec.id}" has type "${spec.type}" and no module.`,
      {
        category: "config",
      },
    );
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(file));
  } catch (error) {
    throw new WardenError(
      "guard_load_failed",
      `Guard "${spec.id}" (${spec.source.file}:${spec.source.line}): cannot read module_path ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); build the guard or fix the path.`,
      { category: "plugin", details: { guard: spec.id, file }, cause: error },
    );
  }
  return loadWasm(spec, bytes, opts);
}

async function loadWasm(
  spec: GuardSpec,
  bytes: Uint8Array,
  opts: LoadGuardsOptions,
): Promise<Guard> {
  const kind = binaryKind(bytes);
  const logOpt = opts.log ? { log: opts.log } : {};
  if (kind === "component")
    return loadComponentGuard(spec, bytes, {
      runtime: (s) => sandboxRuntime(s, opts.cacheDir),
      ...(opts.cacheDir ? { cacheDir: opts.cacheDir } : {}),
      ...logOpt,
    });
  if (kind === "core") return loadJsonAbiGuard(spec, bytes, opts.cacheDir);
  throw new WardenError(
    "guard_load_failed",
    `Guard "${spec.id}": ${spec.modulePath} is not WebAssembly (neither a component nor a core module).`,
    { category: "plugin", details: { guard: spec.id, file: spec.modulePath } },
  );
}

/**
 * Load every enabled guard of a validated configuration and compose them (a `GuardSet`: one
 * core chain per phase, each guard a strategy, by priority). WebAssembly modules
 * are read, transpiled (components, cached on disk) and instantiated here, once; a failure to
 * load any guard fails the whole configuration (fail closed), naming the guard.
 */
export async function loadGuards(
  specs: readonly GuardSpec[],
  opts: LoadGuardsOptions = {},
): Promise<GuardSet> {
  const old = new Map<string, Guard>();
  for (const { guard } of opts.previous?.guards ?? []) {
    const fp = fingerprints.get(guard);
    if (fp !== undefined) old.set(fp, guard);
  }
  const entries: { spec: GuardSpec; guard: Guard }[] = [];
  const reused = new Set<Guard>();
  try {
    for (const spec of specs) {
      if (!spec.enabled) continue;
      let bytes: Uint8Array | undefined;
      if (spec.type === "wasm" && spec.modulePath !== undefined)
        bytes = new Uint8Array(await readFile(spec.modulePath).catch(() => new Uint8Array()));
      const fp = fingerprint(spec, bytes);
      const prev = old.get(fp);
      if (prev !== undefined) {
        reused.add(prev);
        entries.push({ spec, guard: prev });
        continue;
      }
      let guard: Guard;
      try {
        guard =
          bytes && bytes.length > 0
            ? await loadWasm(spec, bytes, opts)
            : await loadGuard(spec, opts);
      } catch (error) {
        throw located(spec, error);
      }
      fingerprints.set(guard, fp);
      entries.push({ spec, guard });
    }
  } catch (error) {
    for (const e of entries) if (!reused.has(e.guard)) e.guard.close?.();
    throw error;
  }
  for (const { guard } of opts.previous?.guards ?? []) if (!reused.has(guard)) guard.close?.();
  return new GuardSet(entries);
}

/** A load error that says which entry (file:line) and which module failed. */
function located(spec: GuardSpec, error: unknown): Error {
  const where = `${spec.source.file}:${spec.source.line}`;
  const msg = error instanceof Error ? error.message : String(error);
  if (msg.includes(where)) return error as Error;
  const mod = spec.modulePath === undefined ? "" : ` (module_path ${spec.modulePath})`;
  return new WardenError(
    "guard_load_failed",
    `Guard "${spec.id}" at ${where}${mod} could not be loaded: ${msg}`,
    {
      category: "plugin",
      cause: error,
      details: { guard: spec.id, file: spec.source.file, line: spec.source.line },
    },
  );
}
