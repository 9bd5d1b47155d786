/** The on-disk cache of instrumented modules (prepareModule's cacheDir). */
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { diskKey, unsafeDirReason } from "../../src/sandbox/disk-cache.js";
import { resolveLimits } from "../../src/sandbox/limits.js";
import { loadPlugin } from "../../src/sandbox/plugin.js";
import { clearPreparedCache, prepareModule, sha256 } from "../../src/sandbox/prepare.js";
import { fixture } from "./helpers.js";

const ROOT = mkdtempSync(join(tmpdir(), "warden-modcache-"));
let n = 0;
const freshDir = () => join(ROOT, `c${n++}`);

afterAll(() => rmSync(ROOT, { recursive: true, force: true }));
beforeEach(() => clearPreparedCache());

const entries = (dir: string) => readdirSync(dir).filter((f) => f.endsWith(".wasm"));

describe("on-disk cache of instrumented modules", () => {
  it("a second prepare in a fresh process state reads the instrumented bytes from disk", async () => {
    const dir = freshDir();
    const bytes = await fixture("state");
    const first = await prepareModule(bytes, { name: "cached", cacheDir: dir });
    expect(first.fromDiskCache).toBe(false);
    expect(first.diskCacheNote).toBeNull();
    expect(entries(dir)).toHaveLength(1);
    const file = join(dir, entries(dir)[0] as string);
    expect(readFileSync(file).length).toBeGreaterThan(bytes.length);
    if (process.platform !== "win32") {
      const { statSync } = await import("node:fs");
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(statSync(dir).mode & 0o077).toBe(0);
    }
    clearPreparedCache();
    const second = await prepareModule(bytes, { name: "cached", cacheDir: dir });
    expect(second.fromDiskCache).toBe(true);
    expect(second.module).not.toBe(first.module);
    expect([...second.signatures]).toEqual([...first.signatures]);
    expect(second.resettable).toBe(first.resettable);
    // and the cached module really runs, metered (stateful: allows once, then denies)
    clearPreparedCache();
    const plugin = await loadPlugin(bytes, { name: "cached", stateful: true, cacheDir: dir });
    expect((await plugin.evaluate({})).verdict).toBe(true);
    expect((await plugin.evaluate({})).verdict).toBe(false);
  });

  it("cacheDir: false neither reads nor writes", async () => {
    const p = await prepareModule(await fixture("allow"), { name: "nocache", cacheDir: false });
    expect(p.fromDiskCache).toBe(false);
    expect(p.diskCacheNote).toBeNull();
  });

  it.each([
    ["garbage", () => Buffer.from("not a cache entry")],
    ["truncated", (b: Buffer) => b.subarray(0, b.length - 7)],
    ["flipped byte", (b: Buffer) => Buffer.from(b.map((x, i) => (i === b.length - 3 ? x ^ 1 : x)))],
    ["empty", () => Buffer.alloc(0)],
  ])("a corrupt entry (%s) is ignored and rebuilt", async (_, corrupt) => {
    const dir = freshDir();
    const bytes = await fixture("compute");
    await prepareModule(bytes, { name: "corrupt", cacheDir: dir });
    const file = join(dir, entries(dir)[0] as string);
    const good = readFileSync(file);
    writeFileSync(file, corrupt(good));
    clearPreparedCache();
    const p = await prepareModule(bytes, { name: "corrupt", cacheDir: dir });
    expect(p.fromDiskCache).toBe(false);
    expect(p.diskCacheNote).toMatch(/corrupt entry/);
    // rewritten (Binaryen's output is not byte-for-byte stable between runs: same size)
    expect(readFileSync(file).length).toBe(good.length);
    clearPreparedCache();
    expect((await prepareModule(bytes, { name: "corrupt", cacheDir: dir })).fromDiskCache).toBe(
      true,
    );
  });

  it.skipIf(process.platform === "win32")(
    "refuses a group- or world-writable directory",
    async () => {
      const dir = freshDir();
      const bytes = await fixture("allow");
      await prepareModule(bytes, { name: "unsafe", cacheDir: dir });
      chmodSync(dir, 0o777);
      expect(unsafeDirReason(dir)).toMatch(/world-writable \(mode 777\)/);
      clearPreparedCache();
      const p = await prepareModule(bytes, { name: "unsafe", cacheDir: dir });
      expect(p.fromDiskCache).toBe(false);
      expect(p.diskCacheNote).toMatch(/disk cache not used: .*group- or world-writable/);
      chmodSync(dir, 0o720);
      clearPreparedCache();
      const g = await prepareModule(bytes, { name: "unsafe", cacheDir: dir });
      expect(g.fromDiskCache).toBe(false);
      expect(g.diskCacheNote).toMatch(/mode 720/);
      chmodSync(dir, 0o700);
      clearPreparedCache();
      expect((await prepareModule(bytes, { name: "unsafe", cacheDir: dir })).fromDiskCache).toBe(
        true,
      );
    },
  );

  it("a path that is not a directory is refused", async () => {
    const file = join(ROOT, "plain-file");
    writeFileSync(file, "x");
    const p = await prepareModule(await fixture("allow"), { name: "file", cacheDir: file });
    expect(p.fromDiskCache).toBe(false);
    expect(p.diskCacheNote).toMatch(/disk cache not used/);
  });

  it("different output-shaping limits use different entries; other limits share one", async () => {
    const bytes = await fixture("state");
    const h = sha256(bytes);
    const base = resolveLimits({}, "k");
    const keys = new Set([
      diskKey(h, base),
      diskKey(h, resolveLimits({ memory_limit_bytes: 2 * 1024 * 1024 }, "k")),
      diskKey(h, resolveLimits({ table_elements: 500 }, "k")),
      diskKey(sha256(await fixture("allow")), base),
    ]);
    expect(keys.size).toBe(4);
    // timeout and fuel are enforced at run time: they do not change the instrumented bytes
    expect(diskKey(h, resolveLimits({ timeout_ms: 5, fuel: 1000 }, "k"))).toBe(diskKey(h, base));

    const dir = freshDir();
    await prepareModule(bytes, { name: "k", cacheDir: dir });
    clearPreparedCache();
    const other = await prepareModule(bytes, {
      name: "k",
      cacheDir: dir,
      limits: { memory_limit_bytes: 2 * 1024 * 1024 },
    });
    expect(other.fromDiskCache).toBe(false);
    expect(entries(dir)).toHaveLength(2);
    clearPreparedCache();
    const same = await prepareModule(bytes, {
      name: "k",
      cacheDir: dir,
      limits: { timeout_ms: 5 },
    });
    expect(same.fromDiskCache).toBe(true);
  });
});
