/**
 * On-disk cache of instrumented modules, so a large module (a guard's JS engine) is rewritten by
 * Binaryen once per machine, not once per process. An entry holds the final instrumented bytes
 * (metered, memory and tables capped) and what instrumentation learnt (export signatures,
 * whether tables are written). Its key covers everything that shapes those bytes: sha256 of the
 * original module, the memory and table caps, INSTRUMENTATION_VERSION and the Binaryen version.
 *
 * An entry is code that skips instrumentation, so it is trusted only from a directory owned by
 * the current user and not group/world-writable, only as a regular file owned by that user, and
 * only if its recorded sha256 matches and WebAssembly.validate accepts it; anything else is
 * ignored (and rebuilt). Entries are written to a temporary file (mode 0600), then renamed.
 */
import { createHash } from "node:crypto";
import {
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { INSTRUMENTATION_VERSION } from "./instrument.js";
import type { Limits } from "./limits.js";

const MAGIC = "WDNMOD1\n";

export interface CachedInstrumentation {
  bytes: Uint8Array;
  writesTables: boolean;
  signatures: Map<string, { params: string[]; results: string[] }>;
}

/** `$WARDEN_CACHE_DIR`, else `$XDG_CACHE_HOME/warden/modules`, else `~/.cache/warden/modules`. */
export function defaultModuleCacheDir(): string {
  if (process.env.WARDEN_CACHE_DIR) return process.env.WARDEN_CACHE_DIR;
  const xdg = process.env.XDG_CACHE_HOME;
  return join(xdg ? xdg : join(homedir(), ".cache"), "warden", "modules");
}

let binaryenVersion: string | undefined;
function binaryenVer(): string {
  if (binaryenVersion === undefined) {
    try {
      const url = new URL(import.meta.resolve("binaryen"));
      const pkg = join(dirname(url.pathname), "package.json");
      binaryenVersion = (JSON.parse(readFileSync(pkg, "utf8")) as { version: string }).version;
    } catch {
      binaryenVersion = "unknown";
    }
  }
  return binaryenVersion;
}

/** The entry's file name stem: only settings that change the instrumented bytes are in it. */
export function diskKey(originalSha256: string, limits: Readonly<Limits>): string {
  const settings = `i${INSTRUMENTATION_VERSION}:b${binaryenVer()}:m${limits.memory_limit_bytes}:t${limits.table_elements}`;
  const h = createHash("sha256").update(settings).digest("hex").slice(0, 16);
  return `${originalSha256}-${h}`;
}

/** Create `dir` (0700) if needed; return why it must not be used, or undefined if it is safe. */
export function unsafeDirReason(dir: string): string | undefined {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const st = statSync(dir);
    if (!st.isDirectory()) return `${dir} is not a directory`;
    const uid = process.getuid?.();
    if (uid !== undefined && st.uid !== uid)
      return `${dir} is owned by uid ${st.uid}, not by the current user (uid ${uid})`;
    if (process.platform !== "win32" && (st.mode & 0o022) !== 0)
      return `${dir} is group- or world-writable (mode ${(st.mode & 0o777).toString(8)}); run chmod go-w on it`;
    return undefined;
  } catch (error) {
    return `cannot use ${dir}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`;
  }
}

function sha(b: Uint8Array): string {
  return createHash("sha256").update(b).digest("hex");
}

/** Read and verify an entry; returns the reason when it is absent or not trusted. */
export function readEntry(dir: string, key: string): CachedInstrumentation | string {
  const file = join(dir, `${key}.wasm`);
  let raw: Buffer;
  try {
    const st = lstatSync(file);
    if (!st.isFile()) return `${file} is not a regular file`;
    const uid = process.getuid?.();
    if (uid !== undefined && st.uid !== uid) return `${file} is not owned by the current user`;
    raw = readFileSync(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === "ENOENT" ? "miss" : `cannot read ${file}: ${code ?? (error as Error).message}`;
  }
  try {
    if (raw.subarray(0, MAGIC.length).toString("latin1") !== MAGIC) throw new Error("bad magic");
    const len = raw.readUInt32LE(MAGIC.length);
    const start = MAGIC.length + 4;
    const header = JSON.parse(raw.subarray(start, start + len).toString("utf8")) as {
      key: string;
      sha256: string;
      size: number;
      writesTables: boolean;
      signatures: [string, { params: string[]; results: string[] }][];
    };
    const bytes = new Uint8Array(raw.subarray(start + len));
    if (header.key !== key) throw new Error("key mismatch");
    if (bytes.length !== header.size) throw new Error("truncated");
    if (sha(bytes) !== header.sha256) throw new Error("sha256 mismatch");
    if (!WebAssembly.validate(bytes)) throw new Error("not valid WebAssembly");
    return {
      bytes,
      writesTables: header.writesTables === true,
      signatures: new Map(header.signatures),
    };
  } catch (error) {
    return `corrupt entry ${file} (${(error as Error).message}); rebuilt`;
  }
}

/** Write an entry atomically (temp file 0600 + rename); returns why not, or undefined. */
export function writeEntry(
  dir: string,
  key: string,
  entry: CachedInstrumentation,
): string | undefined {
  const file = join(dir, `${key}.wasm`);
  const header = Buffer.from(
    JSON.stringify({
      key,
      sha256: sha(entry.bytes),
      size: entry.bytes.length,
      writesTables: entry.writesTables,
      signatures: [...entry.signatures],
    }),
  );
  const len = Buffer.alloc(4);
  len.writeUInt32LE(header.length);
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  try {
    writeFileSync(tmp, Buffer.concat([Buffer.from(MAGIC, "latin1"), len, header, entry.bytes]), {
      mode: 0o600,
      flag: "wx",
    });
    renameSync(tmp, file);
    return undefined;
  } catch (error) {
    rmSync(tmp, { force: true });
    return `cannot write ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`;
  }
}

/** Entry files in `dir` (for tests and `warden` diagnostics). */
export function listEntries(dir: string): string[] {
  try {
    return readdirSync(dir).filter((f) => f.endsWith(".wasm"));
  } catch {
    return [];
  }
}
