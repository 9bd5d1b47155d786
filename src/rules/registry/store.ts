/**
 * Where registered plugins persist: `<state.dir>/plugins/index.json` (one entry per plugin) and
 * `<state.dir>/plugins/modules/<sha256>.wasm` (the bytes, named by their hash, never by the
 * plugin's name). Every file is written to a temporary file beside it, flushed and renamed, so a
 * crash leaves the old version or the new one, never half of either. Writes are serialised.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdir, open, readFile, rename, rm, unlink } from "node:fs/promises";
import { join } from "node:path";
import { WardenError } from "../../core/errors.js";
import { checkRegistryName } from "./names.js";

/** One registered plugin as kept on disk. */
export interface StoredPlugin {
  readonly name: string;
  readonly description: string | null;
  readonly enabled: boolean;
  readonly memory_limit_bytes: number;
  readonly timeout_ms: number;
  readonly registered_at: string;
  readonly sha256: string;
}

const INDEX_VERSION = 1;

export const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

/** Write `data` to `file` atomically (temporary file, fsync, rename). */
export async function writeAtomic(file: string, data: Uint8Array | string): Promise<void> {
  const tmp = `${file}.${randomBytes(6).toString("hex")}.tmp`;
  const fh = await open(tmp, "wx", 0o600);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

function corrupt(file: string, why: string, cause?: unknown): WardenError {
  return new WardenError(
    "registry_corrupt",
    `plugin registry ${file}: ${why}; restore it from a backup, or move it away to start with an empty registry`,
    { category: "config", details: { file }, ...(cause === undefined ? {} : { cause }) },
  );
}

function unwritable(file: string, cause: unknown): WardenError {
  return new WardenError(
    "registry_unwritable",
    `plugin registry: cannot write ${file}: ${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}; check that state.dir is writable`,
    { category: "internal", details: { file }, cause },
  );
}

export class RegistryStore {
  readonly dir: string;
  readonly index: string;
  readonly modules: string;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(stateDir: string) {
    this.dir = join(stateDir, "plugins");
    this.index = join(this.dir, "index.json");
    this.modules = join(this.dir, "modules");
  }

  moduleFile(hash: string): string {
    return join(this.modules, `${hash}.wasm`);
  }

  /** The stored entries with their bytes (hash checked); none when nothing was stored yet. */
  async load(): Promise<{ entry: StoredPlugin; bytes: Uint8Array }[]> {
    let text: string;
    try {
      text = await readFile(this.index, "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw corrupt(this.index, `cannot read it (${(e as NodeJS.ErrnoException).code})`, e);
    }
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (e) {
      throw corrupt(this.index, `not JSON (${(e as Error).message})`, e);
    }
    const d = doc as { version?: unknown; plugins?: unknown };
    if (d?.version !== INDEX_VERSION || !Array.isArray(d.plugins))
      throw corrupt(
        this.index,
        `not a version ${INDEX_VERSION} index ({ version, plugins: [...] })`,
      );
    const out: { entry: StoredPlugin; bytes: Uint8Array }[] = [];
    for (const [i, raw] of (d.plugins as unknown[]).entries()) {
      const e = raw as Partial<StoredPlugin>;
      const ok =
        typeof e === "object" &&
        e !== null &&
        typeof e.sha256 === "string" &&
        /^[0-9a-f]{64}$/.test(e.sha256) &&
        typeof e.enabled === "boolean" &&
        typeof e.memory_limit_bytes === "number" &&
        typeof e.timeout_ms === "number" &&
        typeof e.registered_at === "string" &&
        (e.description === null || typeof e.description === "string");
      if (!ok) throw corrupt(this.index, `plugins[${i}] is not a plugin entry`);
      try {
        checkRegistryName(e.name);
      } catch (err) {
        throw corrupt(this.index, `plugins[${i}]: ${(err as Error).message}`);
      }
      const file = this.moduleFile(e.sha256 as string);
      let bytes: Uint8Array;
      try {
        bytes = new Uint8Array(await readFile(file));
      } catch (err) {
        throw corrupt(file, `the module of plugin "${e.name}" cannot be read`, err);
      }
      if (sha256(bytes) !== e.sha256)
        throw corrupt(file, `the module of plugin "${e.name}" does not match its sha256`);
      out.push({ entry: e as StoredPlugin, bytes });
    }
    return out;
  }

  /** Run writes one after another (the index is rewritten whole each time). */
  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => {});
    return run;
  }

  /** Write the module (if new) and then the index naming it. */
  save(entries: readonly StoredPlugin[], bytes?: Uint8Array): Promise<void> {
    return this.#serial(async () => {
      let at = this.modules;
      try {
        await mkdir(this.modules, { recursive: true, mode: 0o700 });
        if (bytes !== undefined) {
          at = this.moduleFile(sha256(bytes));
          await writeAtomic(at, bytes);
        }
        at = this.index;
        const doc = { version: INDEX_VERSION, plugins: entries };
        await writeAtomic(this.index, `${JSON.stringify(doc, null, 2)}\n`);
      } catch (e) {
        throw unwritable(at, e);
      }
    });
  }

  /** Remove a module file no entry names any more (best effort: a leftover is harmless). */
  async dropModule(hash: string): Promise<void> {
    await this.#serial(() => unlink(this.moduleFile(hash)).catch(() => {}));
  }
}
