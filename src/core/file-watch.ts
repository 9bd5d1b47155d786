/**
 * Following files and folders for hot reload: fs.watch on each one's folder (so an editor's or a
 * build's write-then-rename is seen), debounced so a burst of changes calls `onChange` once.
 * A folder given as a path is followed whole (any file added, changed or removed in it); a path
 * that does not exist yet is followed through its folder when that exists. The one watcher the
 * gateway, hosted components, guards, rules and the plugin registry share.
 */
import { type FSWatcher, statSync, watch } from "node:fs";
import { basename, dirname } from "node:path";

export class FileWatcher {
  #watchers: FSWatcher[] = [];
  #folders = new Set<string>();
  #timer: NodeJS.Timeout | undefined;

  constructor(
    readonly onChange: () => void,
    readonly debounceMs = 150,
  ) {}

  /** Follow exactly these files and folders (replacing what was followed). */
  set(paths: readonly string[]): this {
    this.close();
    const names = new Map<string, Set<string> | "all">();
    const add = (dir: string, name: string | "all") => {
      const cur = names.get(dir);
      if (name === "all" || cur === "all") names.set(dir, "all");
      else if (cur === undefined) names.set(dir, new Set([name]));
      else cur.add(name);
    };
    for (const p of paths) {
      if (isDir(p)) add(p, "all");
      add(dirname(p), basename(p));
    }
    for (const [dir, which] of names) {
      try {
        const w = watch(dir, { persistent: false }, (_event, name) => {
          if (which === "all" || name === null || which.has(String(name))) this.#kick();
        });
        w.on("error", () => {});
        this.#watchers.push(w);
        this.#folders.add(dir);
      } catch {
        // a folder that does not exist (yet): nothing to follow there
      }
    }
    return this;
  }

  /** Whether the folder `dir` itself is watched (false when it is missing or unreadable). */
  watches(dir: string): boolean {
    return this.#folders.has(dir);
  }

  #kick(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.onChange();
    }, this.debounceMs);
    this.#timer.unref();
  }

  close(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const w of this.#watchers) w.close();
    this.#watchers = [];
    this.#folders.clear();
  }
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}
