/**
 * Plugins registered over the API survive a restart (kept under state.dir, written atomically,
 * checked against their sha256 when read back), and wasm.plugin_dir is scanned at start.
 */
import { execFileSync } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { MAX_MODULE_BYTES, PluginRegistry } from "../../src/rules/registry/index.js";
import { registerForm, spamPlugin, startAdmin, tempDir, wat } from "./helpers.js";

describe("persistence under state.dir", () => {
  it("a restarted server lists, tests and deletes what was registered before", async () => {
    const stateDir = tempDir();
    const spam = await spamPlugin();
    const a = await startAdmin({ registry: { stateDir } });
    const post = (form: FormData) =>
      fetch(`${a.url}/v1/wasm/plugins`, { method: "POST", body: form });
    expect(
      (await post(registerForm({ name: "spam", description: "d", timeout_ms: "250" }, spam)))
        .status,
    ).toBe(201);
    expect(
      (await post(registerForm({ name: "off", enabled: "false" }, await wat("allow")))).status,
    ).toBe(201);
    expect((await post(registerForm({ name: "gone" }, await wat("allow")))).status).toBe(201);
    expect((await fetch(`${a.url}/v1/wasm/plugins/gone`, { method: "DELETE" })).status).toBe(204);
    const before = (await (await fetch(`${a.url}/v1/wasm/plugins`)).json()) as {
      plugins: { name: string; registered_at: string }[];
    };
    await a.close();

    // no temporary files left; modules named by hash; the deleted plugin's module is shared
    // with "off" (same bytes), so it stays
    const dir = join(stateDir, "plugins");
    expect(readdirSync(dir).sort()).toEqual(["index.json", "modules"]);
    expect(readdirSync(join(dir, "modules"))).toHaveLength(2);

    const b = await startAdmin({ registry: { stateDir } });
    const after = (await (await fetch(`${b.url}/v1/wasm/plugins`)).json()) as {
      plugins: Record<string, unknown>[];
      count: number;
    };
    expect(after.count).toBe(2);
    expect(after.plugins.map((p) => [p.name, p.enabled, p.registered_at])).toEqual(
      before.plugins.map((p) => [p.name, p.name !== "off", p.registered_at]),
    );
    expect(after.plugins.find((p) => p.name === "spam")).toMatchObject({
      description: "d",
      timeout_ms: 250,
      source: "api",
    });
    const t = await fetch(`${b.url}/v1/wasm/plugins/spam/test`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ input: { action_type: "spam" } }),
    });
    expect(await t.json()).toMatchObject({ verdict: false });
    expect((await fetch(`${b.url}/v1/wasm/plugins/spam`, { method: "DELETE" })).status).toBe(204);
    await b.close();
    const c = await PluginRegistry.open({ stateDir, cacheDir: false });
    expect(c.list().map((p) => p.name)).toEqual(["off"]);
    expect(readdirSync(join(dir, "modules"))).toHaveLength(1);
  });

  it("invocation_count and last_invoked_at survive a restart, written at a bounded rate; a new module under the name starts from zero", async () => {
    const stateDir = tempDir();
    const pluginDir = tempDir();
    writeFileSync(join(pluginDir, "dirp.wasm"), await wat("allow"));
    const open = () =>
      PluginRegistry.open({ stateDir, pluginDir, cacheDir: false, countsFlushMs: 3_600_000 });
    const a = await open();
    await a.register({ name: "spam", bytes: await spamPlugin() });
    for (let i = 0; i < 1000; i++) a.invoke("spam", "evaluate", { action_type: "x" });
    a.test("dirp", {});
    const counts = join(stateDir, "plugins", "counts.json");
    // 1001 invocations, no write yet: the file is written at most once per interval, and on close
    expect(existsSync(counts)).toBe(false);
    const last = a.info("spam").last_invoked_at;
    await a.close();
    expect(readdirSync(join(stateDir, "plugins")).sort()).toEqual([
      "counts.json",
      "index.json",
      "modules",
    ]);
    const b = await open();
    expect(b.info("spam")).toMatchObject({ invocation_count: 1000, last_invoked_at: last });
    expect(b.info("dirp")).toMatchObject({ invocation_count: 1 });
    // deleted and registered again (other bytes): its count starts from zero
    await b.delete("spam");
    await b.register({ name: "spam", bytes: await wat("allow") });
    b.invoke("spam", "evaluate", {});
    await b.close();
    expect((await open()).info("spam").invocation_count).toBe(1);
    // a counts file that does not read back is ignored (counters are not configuration)
    writeFileSync(counts, "{ nope");
    expect((await open()).info("spam").invocation_count).toBe(0);
  });

  it("refuses to start on an altered module or a corrupt index (registry_corrupt), naming the file", async () => {
    const stateDir = tempDir();
    const r = await PluginRegistry.open({ stateDir, cacheDir: false });
    await r.register({ name: "p", bytes: await wat("allow") });
    const modules = join(stateDir, "plugins", "modules");
    const file = join(modules, readdirSync(modules)[0]!);
    const bytes = readFileSync(file);
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 1) ^ 1, bytes.length - 1);
    writeFileSync(file, bytes);
    await expect(PluginRegistry.open({ stateDir, cacheDir: false })).rejects.toMatchObject({
      code: "registry_corrupt",
      message: expect.stringContaining(file),
    });
    writeFileSync(join(stateDir, "plugins", "index.json"), "{ not json");
    await expect(PluginRegistry.open({ stateDir, cacheDir: false })).rejects.toMatchObject({
      code: "registry_corrupt",
    });
    writeFileSync(
      join(stateDir, "plugins", "index.json"),
      JSON.stringify({ version: 1, plugins: [{ name: "../../x", sha256: "0".repeat(64) }] }),
    );
    await expect(PluginRegistry.open({ stateDir, cacheDir: false })).rejects.toMatchObject({
      code: "registry_corrupt",
    });
  });
});

describe("wasm.plugin_dir", () => {
  it("registers every <name>.wasm at start with the defaults; the API's plugins replace them", async () => {
    const pluginDir = tempDir();
    writeFileSync(join(pluginDir, "spam.wasm"), await spamPlugin());
    writeFileSync(join(pluginDir, "allow.wasm"), await wat("allow"));
    writeFileSync(join(pluginDir, "notes.txt"), "not a plugin");
    const a = await startAdmin({
      registry: { pluginDir, defaultTimeoutMs: 42, defaultMemoryLimitBytes: 1 << 20 },
    });
    const list = (await (await fetch(`${a.url}/v1/wasm/plugins`)).json()) as {
      plugins: Record<string, unknown>[];
    };
    expect(list.plugins.map((p) => [p.name, p.source, p.timeout_ms, p.memory_limit_bytes])).toEqual(
      [
        ["allow", "plugin_dir", 42, 1 << 20],
        ["spam", "plugin_dir", 42, 1 << 20],
      ],
    );
    // taken by the plugin_dir one until it is deleted
    const dup = await fetch(`${a.url}/v1/wasm/plugins`, {
      method: "POST",
      body: registerForm({ name: "spam" }, await spamPlugin()),
    });
    expect(dup.status).toBe(409);
    await a.close();
  });

  it("is followed while running: a .wasm added or changed is loaded, a broken one keeps the old and says why, a removed one goes", async () => {
    const pluginDir = tempDir();
    writeFileSync(join(pluginDir, "spam.wasm"), await spamPlugin());
    const said: string[] = [];
    const log = (_o: object, msg?: string) => said.push(msg ?? "");
    const r = await PluginRegistry.open({
      pluginDir,
      cacheDir: false,
      log: { debug() {}, info: log, warn: log, error: log },
    });
    r.watchPluginDir(20);
    const until = async (cond: () => boolean) => {
      for (let i = 0; i < 400 && !cond(); i++) await new Promise((res) => setTimeout(res, 25));
      expect(cond()).toBe(true);
    };
    // added: registered by the watcher
    writeFileSync(join(pluginDir, "allow.wasm"), await wat("allow"));
    await until(() => r.has("allow"));
    expect(r.info("allow").source).toBe("plugin_dir");
    // changed: the new module is in force
    const spamHash = r.info("spam").sha256;
    expect(r.test("spam", { action_type: "spam" }).verdict).toBe(false);
    writeFileSync(join(pluginDir, "spam.wasm"), await wat("allow"));
    await until(() => r.info("spam").sha256 !== spamHash);
    expect(r.test("spam", { action_type: "spam" }).verdict).toBe(true);
    // broken: refused, said with the file and the sandbox's code, the old version keeps running
    const before = r.info("spam").sha256;
    writeFileSync(join(pluginDir, "spam.wasm"), "not wasm");
    await until(() => said.some((l) => l.includes("spam.wasm") && l.includes("keeps running")));
    expect(said.find((l) => l.includes("keeps running"))).toMatch(/not a WebAssembly module/);
    expect(r.info("spam").sha256).toBe(before);
    expect(r.test("spam", {}).verdict).toBe(true);
    // removed: unregistered
    unlinkSync(join(pluginDir, "allow.wasm"));
    await until(() => !r.has("allow"));
    await r.close();
  });

  it("a device, a FIFO or an oversized file named .wasm refuses the start, naming it, without blocking or filling memory", async () => {
    const zero = tempDir();
    symlinkSync("/dev/zero", join(zero, "zero.wasm"));
    await expect(PluginRegistry.open({ pluginDir: zero, cacheDir: false })).rejects.toMatchObject({
      code: "registry_corrupt",
      message: expect.stringContaining("zero.wasm is not a regular file"),
    });
    const fifo = tempDir();
    execFileSync("mkfifo", [join(fifo, "pipe.wasm")]);
    await expect(PluginRegistry.open({ pluginDir: fifo, cacheDir: false })).rejects.toMatchObject({
      code: "registry_corrupt",
    });
    const big = tempDir();
    writeFileSync(join(big, "big.wasm"), "\0asm");
    truncateSync(join(big, "big.wasm"), MAX_MODULE_BYTES + 1); // sparse: no disk used
    await expect(PluginRegistry.open({ pluginDir: big, cacheDir: false })).rejects.toMatchObject({
      code: "too_large",
      message: expect.stringContaining("big.wasm is larger than"),
    });
  });

  it("a file that is not a plugin, or whose name is not a plugin name, refuses the start", async () => {
    const bad = tempDir();
    writeFileSync(join(bad, "junk.wasm"), "junk");
    await expect(PluginRegistry.open({ pluginDir: bad, cacheDir: false })).rejects.toMatchObject({
      code: "compile_error",
    });
    const hidden = tempDir();
    copyFileSync(join(bad, "junk.wasm"), join(hidden, ".hidden.wasm"));
    await expect(PluginRegistry.open({ pluginDir: hidden, cacheDir: false })).rejects.toMatchObject(
      { code: "plugin_name_invalid" },
    );
    const missing = join(tempDir(), "nope");
    await expect(
      PluginRegistry.open({ pluginDir: missing, cacheDir: false }),
    ).rejects.toMatchObject({ code: "registry_corrupt" });
    mkdirSync(missing);
    expect((await PluginRegistry.open({ pluginDir: missing, cacheDir: false })).size).toBe(0);
  });
});
