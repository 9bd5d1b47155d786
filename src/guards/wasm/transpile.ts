/**
 * Transpile a guard component with jco once, cached on disk by sha256 of its bytes: the
 * output (the JS glue and the component's core modules) is reused by every later load, in this
 * process or another. The glue is generated with `instantiation: "async"`, so Warden (not jco)
 * compiles and instantiates every core module, through the sandbox.
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
import { WardenError } from "../../core/errors.js";
import { unsafeDirReason } from "../../sandbox/disk-cache.js";

/** Bumped when the transpile options change, so old cache entries are not reused. */
const TRANSPILE_VERSION = 1;
const HOST_IMPORT = "mcp:security-guard/host";

export interface Transpiled {
  readonly sha256: string;
  readonly dir: string;
  /** The ES module exporting `instantiate(getCoreModule, imports, instantiateCore)`. */
  readonly jsPath: string;
  /** Core module file names the glue asks for. */
  readonly coreFiles: readonly string[];
}

const warned = new Set<string>();
function warnOnce(message: string): void {
  if (warned.has(message)) return;
  warned.add(message);
  process.emitWarning(message, "WardenCacheWarning");
}

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

export async function transpileGuard(
  bytes: Uint8Array,
  guardId: string,
  file: string,
  cacheDir = defaultCacheDir(),
): Promise<Transpiled> {
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  // The cache holds JavaScript that Warden imports and runs: use it only when it is a directory
  // of the current user that nobody else can write (the entry folder too); otherwise transpile
  // into a fresh private folder for this process.
  const unsafe = unsafeDirReason(cacheDir);
  if (unsafe !== undefined) {
    warnOnce(
      `Warden does not use the guard cache: ${unsafe}. Guards are transpiled into a private temporary folder instead.`,
    );
    cacheDir = mkdtempSync(join(tmpdir(), "warden-guards-"));
  }
  const dir = join(cacheDir, `${sha256}-t${TRANSPILE_VERSION}-jco${jcoVersion()}`);
  const manifest = join(dir, "manifest.json");
  const entryUnsafe = existsSync(dir) ? unsafeDirReason(dir) : undefined;
  if (entryUnsafe !== undefined) {
    warnOnce(`Warden ignores the cached guard ${dir}: ${entryUnsafe}; it is transpiled again.`);
    rmSync(dir, { recursive: true, force: true });
  }
  if (existsSync(manifest)) {
    const m = JSON.parse(readFileSync(manifest, "utf8")) as { coreFiles: string[] };
    return Object.freeze({ sha256, dir, jsPath: join(dir, "guard.js"), coreFiles: m.coreFiles });
  }
  const { transpile } = await import("@bytecodealliance/jco");
  let out: Awaited<ReturnType<typeof transpile>>;
  try {
    out = await transpile(bytes, {
      name: "guard",
      instantiation: "async",
      noTypescript: true,
      base64Cutoff: 0,
      wasiShim: false,
      quiet: true,
    });
  } catch (error) {
    throw new WardenError(
      "guard_load_failed",
      `Guard "${guardId}": ${file} is not a component jco can transpile (${(error as Error).message.split("\n")[0]}). Build it as a component of the world mcp:security-guard/security-guard@0.1.0 (see examples/guards/README.md).`,
      { category: "plugin", details: { guard: guardId, file }, cause: error },
    );
  }
  const bad = out.imports.filter((i) => !i.startsWith(HOST_IMPORT));
  if (bad.length > 0)
    throw new WardenError(
      "guard_load_failed",
      `Guard "${guardId}": ${file} imports ${bad.join(", ")}, which Warden does not grant guards (only ${HOST_IMPORT}: log, get-time, get-config). For componentize-js, build with disableFeatures: ["stdio", "random", "clocks", "http", "fetch-event"].`,
      { category: "plugin", details: { guard: guardId, file, imports: bad } },
    );
  const exported = out.exports.map(([n]) => n);
  if (!exported.some((n) => n === "guard" || n.startsWith("mcp:security-guard/guard")))
    throw new WardenError(
      "guard_load_failed",
      `Guard "${guardId}": ${file} does not export the interface mcp:security-guard/guard@0.1.0 (it exports ${exported.join(", ") || "nothing"}); build it against wit/ of this repository.`,
      { category: "plugin", details: { guard: guardId, file } },
    );
  // Write to a temporary folder, then rename: a concurrent loader never sees half an entry.
  const tmp = `${dir}.${process.pid}.${Date.now()}.tmp`;
  mkdirSync(tmp, { recursive: true, mode: 0o700 });
  const coreFiles: string[] = [];
  for (const [name, data] of Object.entries(out.files)) {
    if (name.endsWith(".d.ts")) continue;
    if (name.endsWith(".wasm")) coreFiles.push(name);
    writeFileSync(join(tmp, name), data, { mode: 0o600 });
  }
  // The glue is an ES module: give it a package.json so Node loads it as one.
  writeFileSync(join(tmp, "package.json"), '{"type":"module"}\n');
  writeFileSync(join(tmp, "manifest.json"), JSON.stringify({ sha256, coreFiles }));
  try {
    renameSync(tmp, dir);
  } catch {
    rmSync(tmp, { recursive: true, force: true });
    if (!existsSync(manifest)) throw new Error(`cannot write the guard cache ${dir}`);
  }
  return Object.freeze({ sha256, dir, jsPath: join(dir, "guard.js"), coreFiles });
}
