import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { FileWatcher } from "../../src/core/file-watch.js";

const dirs: string[] = [];
const watchers: FileWatcher[] = [];
afterEach(() => {
  for (const w of watchers.splice(0)) w.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), "warden-watch-"));
  dirs.push(d);
  return d;
}

/** Resolves with the number of onChange calls once `ms` passed without a new one. */
function follow(
  paths: string[],
  debounceMs = 40,
): { w: FileWatcher; calls: () => number; next: () => Promise<void> } {
  let n = 0;
  let wake: (() => void) | undefined;
  const w = new FileWatcher(() => {
    n++;
    wake?.();
  }, debounceMs).set(paths);
  watchers.push(w);
  return { w, calls: () => n, next: () => new Promise<void>((r) => (wake = r)) };
}

describe("FileWatcher", () => {
  it("a burst of writes to a followed file calls onChange once; other files in the folder are ignored", async () => {
    const d = tmp();
    const f = join(d, "policy.yaml");
    writeFileSync(f, "a");
    const { calls, next } = follow([f]);
    const changed = next();
    writeFileSync(join(d, "other.txt"), "x");
    for (let i = 0; i < 5; i++) writeFileSync(f, `v${i}`);
    await changed;
    await new Promise((r) => setTimeout(r, 120));
    expect(calls()).toBe(1);
  });

  it("an editor's write-then-rename over the file is seen", async () => {
    const d = tmp();
    const f = join(d, "config.yaml");
    writeFileSync(f, "a");
    const { next } = follow([f]);
    const changed = next();
    writeFileSync(join(d, ".config.yaml.swp"), "b");
    renameSync(join(d, ".config.yaml.swp"), f);
    await changed;
  });

  it("a followed folder reports files added in it", async () => {
    const d = tmp();
    const plugins = join(d, "plugins");
    mkdirSync(plugins);
    const { w, next } = follow([plugins]);
    expect(w.watches(plugins)).toBe(true);
    const changed = next();
    writeFileSync(join(plugins, "new.wasm"), "x");
    await changed;
  });

  it("a missing folder is not watched and says so; close stops further calls", async () => {
    const d = tmp();
    const missing = join(d, "nope");
    const { w, calls } = follow([missing]);
    expect(w.watches(missing)).toBe(false);
    expect(w.watches(d)).toBe(true);
    w.close();
    writeFileSync(join(d, "nope"), "x");
    await new Promise((r) => setTimeout(r, 120));
    expect(calls()).toBe(0);
  });
});
