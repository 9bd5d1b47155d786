/** Watch files for changes (fs.watch on their folders, so editors' rename-and-replace is seen), debounced. */
import { type FSWatcher, watch } from "node:fs";
import { basename, dirname } from "node:path";

export class FileWatcher {
  #watchers: FSWatcher[] = [];
  #timer: NodeJS.Timeout | undefined;

  constructor(
    readonly onChange: () => void,
    readonly debounceMs = 150,
  ) {}

  /** Watch exactly these files (replacing what was watched). */
  set(files: readonly string[]): void {
    this.close();
    const byDir = new Map<string, Set<string>>();
    for (const f of files) {
      const d = dirname(f);
      if (!byDir.has(d)) byDir.set(d, new Set());
      byDir.get(d)!.add(basename(f));
    }
    for (const [dir, names] of byDir) {
      try {
        const w = watch(dir, { persistent: false }, (_event, name) => {
          if (name === null || names.has(String(name))) this.#kick();
        });
        w.on("error", () => {});
        this.#watchers.push(w);
      } catch {}
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
