/**
 * Transpile a WebAssembly component with jco once, cached on disk by sha256 of its bytes: the
 * output (the JS glue and the component's core modules) is reused by every later load, in this
 * process or another. The glue is generated with `instantiation: "async"`, so Warden (not jco)
 * compiles and instantiates every core module, through the sandbox (see ./runtime.ts).
 *
 * Shared by the layers that run components: guards (src/guards/wasm) and hosted tools
 * (src/hosted). What a component may import is the caller's decision (`Transpiled.imports`).
 */
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { unsafeDirReason } from "../disk-cache.js";

/** Bumped when the transpile options or the entry layout change, so old entries are not reused. */
const TRANSPILE_VERSION = 3;

/**
 * The longest list (elements) or string (bytes) jco's glue lifts out of a component. The glue
 * builds a list of booleans, strings or records by pushing onto one array, and a worker whose
 * heap runs out while one array grows ends the whole process (Node 20), not the worker: a
 * component returning 100,000,000 booleans (100 MB of its memory) did. Past it, the lift throws
 * before it starts. A hosted result is at most 16 MiB of JSON anyway (src/hosted/convert.ts),
 * which no longer list could fit.
 */
export const MAX_LIFTED_LENGTH = 16 * 1024 * 1024;
const LIFTED_LENGTH = /var (len\d+) = dataView\(memory\d+\)\.getUint32\([^;\n]*\);/g;

/** The glue with every length it reads from a component's memory checked (MAX_LIFTED_LENGTH). */
export function boundLifts(js: string): string {
  return js.replace(
    LIFTED_LENGTH,
    (read, len: string) =>
      `${read} if (${len} > ${MAX_LIFTED_LENGTH}) throw new RangeError(\`the component returned a list or string of \${${len}} elements or bytes, more than the ${MAX_LIFTED_LENGTH} Warden takes out of a component; return less\`);`,
  );
}

/** The `instantiate` export of the glue jco generates with `instantiation: "async"`. */
export type Instantiate = (
  getCoreModule: (path: string) => Promise<WebAssembly.Module>,
  imports: Record<string, unknown>,
  instantiateCore: (
    m: WebAssembly.Module,
    i?: WebAssembly.Imports,
  ) => Promise<WebAssembly.Instance>,
) => Promise<Record<string, unknown>>;

export interface Transpiled {
  readonly sha256: string;
  readonly dir: string;
  /** The ES module exporting `instantiate(getCoreModule, imports, instantiateCore)`. */
  readonly jsPath: string;
  /** Core module file names the glue asks for. */
  readonly coreFiles: readonly string[];
  /** The component's imports (interface names, e.g. `wasi:cli/environment@0.2.3`). */
  readonly imports: readonly string[];
  /** The component's exports: [name, "function" | "instance"]. */
  readonly exports: readonly (readonly [string, string])[];
}

export interface TranspileOptions {
  /** The glue's file name without `.js` (also the name jco gives the core modules). */
  name: string;
  /** Where entries are kept (default: `defaultCacheDir()`). */
  cacheDir?: string;
  /** Makes the error thrown when jco cannot transpile the bytes (names the file for the user). */
  invalid: (reason: string, cause: unknown) => Error;
  /** Checks jco's output before it is written to the cache; throws to refuse the component. */
  check?: (t: { imports: readonly string[]; exports: readonly string[] }) => void;
}

const warned = new Set<string>();
function warnOnce(message: string): void {
  if (warned.has(message)) return;
  warned.add(message);
  process.emitWarning(message, "WardenCacheWarning");
}

/** `$WARDEN_CACHE_DIR`, else ~/.cache/warden/guards (the folder guards have always used). */
export function defaultCacheDir(): string {
  return process.env.WARDEN_CACHE_DIR ?? join(homedir(), ".cache", "warden", "guards");
}

/** The jco version, part of the cache key. */
function jcoVersion(): string {
  try {
    const url = new URL(import.meta.resolve("@bytecodealliance/jco"));
    const pkg = join(url.pathname, "..", "..", "package.json");
    return (JSON.parse(readFileSync(pkg, "utf8")) as { version: string }).version;
  } catch {
    return "unknown";
  }
}

interface Manifest {
  coreFiles: string[];
  imports: string[];
  exports: [string, string][];
}

export async function transpileComponent(
  bytes: Uint8Array,
  opts: TranspileOptions,
): Promise<Transpiled> {
  let cacheDir = opts.cacheDir ?? defaultCacheDir();
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  // The cache holds JavaScript that Warden imports and runs: use it only when it is a directory
  // of the current user that nobody else can write (the entry folder too); otherwise transpile
  // into a fresh private folder for this process.
  const unsafe = unsafeDirReason(cacheDir);
  if (unsafe !== undefined) {
    warnOnce(
      `Warden does not use the component cache: ${unsafe}. Components are transpiled into a private temporary folder instead.`,
    );
    cacheDir = mkdtempSync(join(tmpdir(), "warden-components-"));
  }
  const dir = join(cacheDir, `${sha256}-${opts.name}-t${TRANSPILE_VERSION}-jco${jcoVersion()}`);
  const manifest = join(dir, "manifest.json");
  const jsPath = join(dir, `${opts.name}.js`);
  const entryUnsafe = existsSync(dir) ? unsafeDirReason(dir) : undefined;
  if (entryUnsafe !== undefined) {
    warnOnce(`Warden ignores the cached component ${dir}: ${entryUnsafe}; it is transpiled again.`);
    rmSync(dir, { recursive: true, force: true });
  }
  if (existsSync(manifest)) {
    const m = JSON.parse(readFileSync(manifest, "utf8")) as Manifest;
    opts.check?.({ imports: m.imports, exports: m.exports.map(([n]) => n) });
    return Object.freeze({ sha256, dir, jsPath, ...m });
  }
  const { transpile } = await import("@bytecodealliance/jco");
  let out: Awaited<ReturnType<typeof transpile>>;
  try {
    out = await transpile(bytes, {
      name: opts.name,
      instantiation: "async",
      noTypescript: true,
      base64Cutoff: 0,
      wasiShim: false,
      quiet: true,
    });
  } catch (error) {
    throw opts.invalid((error as Error).message.split("\n")[0] ?? String(error), error);
  }
  const m: Manifest = {
    coreFiles: [],
    imports: [...out.imports],
    exports: out.exports.map(([n, k]) => [n, String(k)]),
  };
  opts.check?.({ imports: m.imports, exports: m.exports.map(([n]) => n) });
  // Write to a temporary folder, then rename: a concurrent loader never sees half an entry.
  const tmp = `${dir}.${process.pid}.${Date.now()}.tmp`;
  mkdirSync(tmp, { recursive: true, mode: 0o700 });
  for (const [name, data] of Object.entries(out.files)) {
    if (name.endsWith(".d.ts")) continue;
    if (name.endsWith(".wasm")) m.coreFiles.push(name);
    writeFileSync(
      join(tmp, name),
      name.endsWith(".js") ? boundLifts(new TextDecoder().decode(data)) : data,
      { mode: 0o600 },
    );
  }
  // The glue is an ES module: give it a package.json so Node loads it as one.
  writeFileSync(join(tmp, "package.json"), '{"type":"module"}\n');
  writeFileSync(join(tmp, "manifest.json"), JSON.stringify({ sha256, ...m }));
  try {
    renameSync(tmp, dir);
  } catch {
    rmSync(tmp, { recursive: true, force: true });
    if (!existsSync(manifest)) throw new Error(`cannot write the component cache ${dir}`);
  }
  return Object.freeze({ sha256, dir, jsPath, ...m });
}
