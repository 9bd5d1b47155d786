/**
 * The plugins' counters kept across restarts: `<state.dir>/plugins/counts.json` holds each
 * plugin's invocation_count and last_invoked_at (with the sha256 of the module counted, so a
 * plugin deleted and registered again under its name starts from zero). Invocations only mark
 * the counters dirty; the file is rewritten at most once per `intervalMs` (a timer that does
 * not hold the process) and on close, each time atomically (temporary file, fsync, rename). A
 * crash loses at most the last interval's counts. A counts file that does not read back is
 * reported and ignored: counters are statistics, not configuration.
 */
import { mkdir, readFile } from "node:fs/promises";
import { dirname } from "node:path";
import { writeAtomic } from "./store.js";

export interface PluginCount {
  readonly sha256: string;
  readonly invocation_count: number;
  readonly last_invoked_at: string | null;
}

const VERSION = 1;

export class CountsFile {
  readonly file: string;
  readonly #snapshot: () => Record<string, PluginCount>;
  readonly #intervalMs: number;
  #timer: NodeJS.Timeout | undefined;
  #writing: Promise<void> = Promise.resolve();
  /** Files written so far (what the bound is about). */
  writes = 0;

  constructor(file: string, snapshot: () => Record<string, PluginCount>, intervalMs = 1000) {
    this.file = file;
    this.#snapshot = snapshot;
    this.#intervalMs = intervalMs;
  }

  /** The counts kept, by plugin name; empty when there are none (or they do not read back). */
  async load(warn: (why: string) => void): Promise<Map<string, PluginCount>> {
    const out = new Map<string, PluginCount>();
    let text: string;
    try {
      text = await readFile(this.file, "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT")
        warn(`cannot read it (${(e as NodeJS.ErrnoException).code})`);
      return out;
    }
    let doc: { version?: unknown; plugins?: unknown };
    try {
      doc = JSON.parse(text) as typeof doc;
    } catch (e) {
      warn(`not JSON (${(e as Error).message})`);
      return out;
    }
    if (doc?.version !== VERSION || typeof doc.plugins !== "object" || doc.plugins === null) {
      warn(`not a version ${VERSION} counts file`);
      return out;
    }
    for (const [name, raw] of Object.entries(doc.plugins as Record<string, unknown>)) {
      const c = raw as Partial<PluginCount>;
      if (
        typeof c?.sha256 === "string" &&
        Number.isSafeInteger(c.invocation_count) &&
        (c.invocation_count as number) >= 0 &&
        (c.last_invoked_at === null ||
          (typeof c.last_invoked_at === "string" && !Number.isNaN(Date.parse(c.last_invoked_at))))
      )
        out.set(name, c as PluginCount);
    }
    return out;
  }

  /** A counter changed: write within intervalMs (one write for any number of changes). */
  mark(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#write();
    }, this.#intervalMs);
    this.#timer.unref();
  }

  /** Write now what is pending (close, SIGTERM); resolves when it is on disk. */
  async flush(): Promise<void> {
    if (this.#timer === undefined) return this.#writing;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    return this.#write();
  }

  #write(): Promise<void> {
    const doc = { version: VERSION, plugins: this.#snapshot() };
    this.#writing = this.#writing
      .then(async () => {
        await mkdir(dirname(this.file), { recursive: true, mode: 0o700 });
        await writeAtomic(this.file, `${JSON.stringify(doc)}\n`);
        this.writes++;
      })
      .catch(() => {
        // best effort: the counters stay in memory; the next change tries again
      });
    return this.#writing;
  }
}
