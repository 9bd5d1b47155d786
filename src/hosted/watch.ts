/**
 * Following a component's files: the component file (or every file of its folder), its WIT
 * source, its `wit/` folder and the policy files. fs.watch on their folders (an editor's or a
 * build's write-then-rename is seen), debounced; a change calls `onChange` once.
 */
import { type FSWatcher, statSync, watch } from "node:fs";
import { basename, dirname, join } from "node:path";

/** What a reload of `path` (a component file or folder) under `policies` follows. */
export function followedPaths(path: string, policies: readonly string[]): string[] {
  const out = [path, ...policies];
  if (path.endsWith(".wasm")) out.push(`${path.slice(0, -5)}.wit`);
  out.push(join(isDir(path) ? path : dirname(path), "wit"));
  return out;
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

export class PathWatcher {
  #watchers: FSWatcher[] = [];
  #timer: NodeJS.Timeout | undefined;

  constructor(
    paths: readonly string[],
    private readonly onChange: () => void,
    private readonly debounceMs = 150,
  ) {
    const names = new Map<string, Set<string> | "all">();
    const add = (dir: string, name: string | "all") => {
      const cur = names.get(dir);
      if (name === "all" || cur === "all") names.set(dir, "all");
      else if (cur === undefined) names.set(dir, new Set([name]));
      else cur.add(name);
    };
    for (const p of paths) {
      if (isDir(p)) add(p, "all"); // a folder: any file added, changed or removed in it
      add(dirname(p), basename(p));
    }
    for (const [dir, which] of names) {
      try {
        const w = watch(dir, { persistent: false }, (_e, name) => {
          if (which === "all" || name === null || which.has(String(name))) this.#kick();
        });
        w.on("error", () => {});
        this.#watchers.push(w);
      } catch {
        // a folder that does not exist (yet): nothing to follow there
      }
    }
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
    for (const w of this.#watchers) w.close();
    this.#watchers = [];
  }
}
