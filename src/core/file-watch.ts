/**
 * Following files and folders for hot reload: fs.watch on each one's folder (so an editor's or a
 * build's write-then-rename is seen), debounced so a burst of changes calls `onChange` once.
 * A folder given as a path is followed whole (any file added, changed or removed in it), or only
 * for the names a `FollowedFolder` accepts; a path that does not exist yet is followed through its
 * folder when that exists. The one watcher the gateway, hosted components, guards, rules and the
 * plugin registry share.
 */
import { type FSWatcher, statSync, watch } from "node:fs";
import { basename, dirname } from "node:path";

/** A folder of which only some entries matter: a change to any other name is ignored. */
export interface FollowedFolder {
  readonly folder: string;
  /** Whether a change to the entry `name` (a file or folder directly in it) matters. */
  readonly names: (name: string) => boolean;
}

type Match = (name: string) => boolean;
const ALL: Match = () => true;

export class FileWatcher {
  #watchers: FSWatcher[] = [];
  #folders = new Set<string>();
  #timer: NodeJS.Timeout | undefined;

  constructor(
    readonly onChange: () => void,
    readonly debounceMs = 150,
  ) {}

  /** Follow exactly these files and folders (replacing what was followed). */
  set(paths: readonly (string | FollowedFolder)[]): this {
    this.close();
    const names = new Map<string, Match[]>();
    const add = (dir: string, m: Match) => {
      const cur = names.get(dir);
      if (cur === undefined) names.set(dir, [m]);
      else cur.push(m);
    };
    for (const p of paths) {
      const path = typeof p === "string" ? p : p.folder;
      if (typeof p !== "string") add(path, p.names);
      else if (isDir(path)) add(path, ALL);
      const base = basename(path);
      add(dirname(path), (n) => n === base);
    }
    for (const [dir, which] of names) {
      try {
        const w = watch(dir, { persistent: false }, (_event, name) => {
          if (name === null || which.some((m) => m(String(name)))) this.#kick();
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
