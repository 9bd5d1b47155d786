/**
 * The plugin registry: WebAssembly rule plugins by name, each loaded once into the sandbox
 * under its limits and invoked by rules (`RulePlugins`) or tested over the admin API. Plugins
 * registered over the API persist under state.dir (store.ts) and are loaded again at start; the
 * `wasm.plugin_dir` is scanned at start. At most MAX_PLUGINS.
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { WardenError } from "../../core/errors.js";
import { FileWatcher } from "../../core/file-watch.js";
import { DEFAULT_PLUGIN_LIMITS, type Evaluation, type Plugin } from "../../sandbox/index.js";
import type { ActionContext, RulePlugins } from "../types.js";
import { sharedCompiler } from "./compile.js";
import { CountsFile, type PluginCount } from "./counts.js";
import { readModuleFile } from "./module-file.js";
import { checkRegistryName, MAX_PLUGINS } from "./names.js";
import { RegistryStore, type StoredPlugin, sha256 } from "./store.js";
import type {
  PluginInfo,
  RegisteredPlugin,
  RegisterInput,
  RegistryLog,
  RegistryOptions,
  SharedPlugin,
} from "./types.js";

/** The largest module the registry takes (the sandbox's max_module_bytes default, 16 MiB). */
export const MAX_MODULE_BYTES = DEFAULT_PLUGIN_LIMITS.max_module_bytes;

interface Entry {
  stored: StoredPlugin;
  plugin: Plugin;
  source: "api" | "plugin_dir";
  size: number;
  count: number;
  last: string | null;
  memory: number;
}

const SILENT: RegistryLog = { debug() {}, info() {}, warn() {}, error() {} };

/** The seed's log event for a failed invocation, by sandbox code. */
function failureEvent(code: string): ["warn" | "error", string] {
  if (code === "timeout") return ["warn", "wasm.plugin.timeout"];
  if (code === "memory_exceeded") return ["warn", "wasm.plugin.memory_exceeded"];
  return ["error", "wasm.plugin.error"];
}

export class PluginRegistry implements RulePlugins {
  readonly #entries = new Map<string, Entry>();
  /** Names being registered now (their modules compiling): taken, and counted. */
  readonly #pending = new Set<string>();
  readonly #store: RegistryStore | undefined;
  /** invocation_count and last_invoked_at kept under state.dir (written at a bounded rate). */
  readonly #counts: CountsFile | undefined;
  readonly #log: RegistryLog;
  readonly #opts: RegistryOptions;
  readonly #now: () => Date;
  /** Compiles modules in a worker thread: the event loop stays free while one compiles. */
  readonly #compiler = sharedCompiler();

  private constructor(opts: RegistryOptions) {
    this.#opts = opts;
    this.#log = opts.log ?? SILENT;
    this.#now = opts.now ?? (() => new Date());
    this.#store = opts.stateDir === undefined ? undefined : new RegistryStore(opts.stateDir);
    this.#counts =
      this.#store === undefined
        ? undefined
        : new CountsFile(
            join(this.#store.dir, "counts.json"),
            () => this.#countsNow(),
            opts.countsFlushMs,
          );
  }

  #countsNow(): Record<string, PluginCount> {
    const out: Record<string, PluginCount> = {};
    for (const e of this.#entries.values())
      if (e.count > 0)
        out[e.stored.name] = {
          sha256: e.stored.sha256,
          invocation_count: e.count,
          last_invoked_at: e.last,
        };
    return out;
  }

  /** Write the counters now (the process is stopping); resolves when they are on disk. */
  async close(): Promise<void> {
    this.#unwatch?.();
    await this.#counts?.flush();
  }

  /**
   * Open a registry: scan plugin_dir, then load what state.dir keeps (a kept plugin replaces a
   * plugin_dir one of the same name). A module that cannot be loaded fails the whole start.
   */
  static async open(opts: RegistryOptions = {}): Promise<PluginRegistry> {
    const r = new PluginRegistry(opts);
    if (opts.pluginDir !== undefined) await r.#scan(opts.pluginDir);
    for (const { entry, bytes } of (await r.#store?.load()) ?? []) {
      if (r.#entries.has(entry.name))
        r.#log.warn(
          { event: "wasm.plugin.register", plugin: entry.name },
          `plugin "${entry.name}" registered over the API replaces the one in plugin_dir`,
        );
      r.#entries.delete(entry.name);
      await r.#add(entry, bytes, "api");
    }
    // the counters of the last run, for the same modules (a replaced module starts from zero)
    const kept = await r.#counts?.load((why) =>
      r.#log.warn(
        { event: "wasm.plugin.counts", file: r.#counts?.file },
        `the plugins' counts file ${r.#counts?.file}: ${why}; counting from zero`,
      ),
    );
    for (const [name, c] of kept ?? []) {
      const e = r.#entries.get(name);
      if (e === undefined || e.stored.sha256 !== c.sha256) continue;
      e.count = c.invocation_count;
      e.last = c.last_invoked_at;
    }
    r.#changed();
    return r;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The defaults a registration without limits gets (wasm.default_*). */
  get defaults(): { memory_limit_bytes: number; timeout_ms: number } {
    return {
      memory_limit_bytes:
        this.#opts.defaultMemoryLimitBytes ?? DEFAULT_PLUGIN_LIMITS.memory_limit_bytes,
      timeout_ms: this.#opts.defaultTimeoutMs ?? DEFAULT_PLUGIN_LIMITS.timeout_ms,
    };
  }

  /** Linear memory held by the plugins' instances now, in bytes. */
  get memoryUsedBytes(): number {
    let n = 0;
    for (const e of this.#entries.values()) n += e.memory;
    return n;
  }

  list(): PluginInfo[] {
    return [...this.#entries.values()]
      .map((e) => this.#info(e))
      .sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  get(name: string): PluginInfo | undefined {
    const e = this.#entries.get(name);
    return e && this.#info(e);
  }

  /** The plugin's info, or `plugin_not_found`. */
  info(name: string): PluginInfo {
    return this.#info(this.#need(name));
  }

  has(name: string): boolean {
    return this.#entries.has(name);
  }

  /** Register a plugin: name, capacity, limits, module (compiled and checked), then persisted. */
  async register(input: RegisterInput): Promise<RegisteredPlugin> {
    const name = checkRegistryName(input.name);
    this.#opts.share?.ready("a plugin upload");
    if (this.#entries.has(name) || this.#pending.has(name))
      throw new WardenError(
        "plugin_exists",
        `plugin "${name}" is registered already; delete it first (DELETE /v1/wasm/plugins/${name}) or choose another name`,
        { category: "usage", details: { plugin: name } },
      );
    if (this.#entries.size + this.#pending.size >= MAX_PLUGINS)
      throw new WardenError(
        "registry_full",
        `${MAX_PLUGINS} plugins are registered, the most the registry holds; delete one first`,
        { category: "usage", details: { plugin: name, limit: MAX_PLUGINS } },
      );
    this.#pending.add(name);
    try {
      const stored: StoredPlugin = {
        name,
        description: input.description ?? null,
        enabled: input.enabled ?? true,
        memory_limit_bytes: input.memory_limit_bytes ?? this.defaults.memory_limit_bytes,
        timeout_ms: input.timeout_ms ?? this.defaults.timeout_ms,
        registered_at: this.#now().toISOString(),
        sha256: sha256(input.bytes),
      };
      const entry = await this.#add(stored, input.bytes, "api");
      try {
        await this.#opts.share?.published(entry.stored, input.bytes);
      } catch (e) {
        this.#entries.delete(name);
        throw e;
      }
      try {
        await this.#store?.save(this.#kept(), input.bytes);
      } catch (e) {
        this.#entries.delete(name);
        await this.#opts.share?.deleted(name).catch(() => {});
        throw e;
      }
      this.#log.info(
        {
          event: "wasm.plugin.register",
          plugin: name,
          sha256: stored.sha256,
          size_bytes: entry.size,
        },
        "wasm.plugin.register",
      );
      this.#changed();
      return this.#registered(entry);
    } finally {
      this.#pending.delete(name);
    }
  }

  /** Unregister a plugin and drop its compiled module. */
  async delete(name: string): Promise<void> {
    const e = this.#need(name);
    if (e.source === "api" && this.#opts.share !== undefined) {
      this.#opts.share.ready("deleting a plugin");
      await this.#opts.share.deleted(name);
    }
    this.#entries.delete(name);
    if (e.source === "api") {
      try {
        await this.#store?.save(this.#kept());
      } catch (err) {
        this.#entries.set(name, e);
        throw err;
      }
      const hash = e.stored.sha256;
      if (![...this.#entries.values()].some((x) => x.stored.sha256 === hash))
        await this.#store?.dropModule(hash);
    }
    this.#log.info({ event: "wasm.plugin.delete", plugin: name }, "wasm.plugin.delete");
    this.#opts.observer?.deleted?.(name);
    this.#changed();
  }

  /** Enable or disable a plugin (kept under state.dir for API plugins). */
  async setEnabled(name: string, enabled: boolean): Promise<PluginInfo> {
    const e = this.#need(name);
    const before = e.stored;
    if (e.source === "api" && before.enabled !== enabled && this.#opts.share !== undefined) {
      this.#opts.share.ready("enabling or disabling a plugin");
      await this.#opts.share.updated({ ...before, enabled });
    }
    e.stored = { ...before, enabled };
    if (e.source === "api" && before.enabled !== enabled) {
      try {
        await this.#store?.save(this.#kept());
      } catch (err) {
        e.stored = before;
        throw err;
      }
    }
    this.#log.info(
      { event: enabled ? "wasm.plugin.enable" : "wasm.plugin.disable", plugin: name },
      enabled ? "wasm.plugin.enable" : "wasm.plugin.disable",
    );
    return this.#info(e);
  }

  /**
   * Invoke for a rule (rules' `RulePlugins`: the seed's `wasm("plugin", "fn")` and `source:
   * wasm_plugin`), synchronously under the plugin's limits. Throws a WardenError with the
   * sandbox's code (timeout, trap, memory_exceeded, ...), `plugin_not_found` or `plugin_disabled`.
   */
  invoke(plugin: string, fn: string, input: ActionContext | unknown): Evaluation {
    const e = this.#need(plugin);
    if (!e.stored.enabled)
      throw new WardenError(
        "plugin_disabled",
        `plugin "${plugin}" is disabled; enable it (PATCH /v1/wasm/plugins/${plugin} {"enabled":true}) or change the rule`,
        { category: "plugin", details: { plugin } },
      );
    return this.#run(e, fn, input);
  }

  /** Invoke for a test (POST /v1/wasm/plugins/{name}/test): disabled plugins run too. */
  test(plugin: string, input: unknown, fn = "evaluate"): Evaluation {
    return this.#run(this.#need(plugin), fn, input);
  }

  #run(e: Entry, fn: string, input: unknown): Evaluation {
    const name = e.stored.name;
    const t0 = performance.now();
    e.count++;
    e.last = this.#now().toISOString();
    this.#counts?.mark();
    try {
      const r = e.plugin.evaluateSync(input, { function: fn });
      e.memory = r.memory_used_bytes;
      this.#opts.observer?.invoked?.(name, true, r.duration_us);
      this.#log.debug(
        { event: "wasm.plugin.invoke", plugin: name, function: fn, duration_us: r.duration_us },
        "wasm.plugin.invoke",
      );
      this.#changed();
      return r;
    } catch (error) {
      const us = Math.round((performance.now() - t0) * 1000);
      const code = error instanceof WardenError ? error.code : "trap";
      this.#opts.observer?.invoked?.(name, false, us, code);
      const [level, event] = failureEvent(code);
      this.#log[level](
        { event, plugin: name, function: fn, code, message: (error as Error).message },
        event,
      );
      throw error;
    }
  }

  /**
   * A plugin another instance registered or changed (shared): compiled off the event loop as an
   * upload is, then in force here (replacing the version of that name); kept under state.dir.
   */
  async adopt(p: SharedPlugin, bytes: Uint8Array): Promise<void> {
    const name = checkRegistryName(p.name);
    const old = this.#entries.get(name);
    if (old !== undefined && old.source === "api" && old.stored.sha256 === p.sha256) {
      old.stored = { ...old.stored, enabled: p.enabled };
      return;
    }
    // a shared index holding more than one registry can (planted, or uploads racing on two
    // instances): the plugins past the bound are not taken
    if (old === undefined && this.#entries.size + this.#pending.size >= MAX_PLUGINS)
      throw new WardenError(
        "registry_full",
        `plugin "${name}" of the shared index is not taken: ${MAX_PLUGINS} plugins are registered here, the most the registry holds`,
        { category: "usage", details: { plugin: name, limit: MAX_PLUGINS } },
      );
    if (sha256(bytes) !== p.sha256)
      throw new WardenError(
        "registry_corrupt",
        `plugin "${name}": the shared module does not match its sha256`,
        { category: "internal", details: { plugin: name } },
      );
    await this.#add(p, bytes, "api");
    await this.#store?.save(this.#kept(), bytes).catch(() => {});
    this.#log.info(
      { event: "wasm.plugin.register", plugin: name, sha256: p.sha256, shared: true },
      "wasm.plugin.register",
    );
    this.#changed();
  }

  /** The module of API plugin `name` as kept under state.dir (undefined: none kept). */
  async moduleBytes(name: string): Promise<Uint8Array | undefined> {
    const e = this.#entries.get(name);
    if (e === undefined || e.source !== "api" || this.#store === undefined) return undefined;
    try {
      const b = new Uint8Array(await readFile(this.#store.moduleFile(e.stored.sha256)));
      return sha256(b) === e.stored.sha256 ? b : undefined;
    } catch {
      return undefined;
    }
  }

  /** An API plugin another instance deleted (shared): dropped here too. */
  async forget(name: string): Promise<void> {
    const e = this.#entries.get(name);
    if (e === undefined || e.source !== "api") return;
    this.#entries.delete(name);
    await this.#store?.save(this.#kept()).catch(() => {});
    this.#opts.observer?.deleted?.(name);
    this.#log.info(
      { event: "wasm.plugin.delete", plugin: name, shared: true },
      "wasm.plugin.delete",
    );
    this.#changed();
  }

  /** This instance's counters of each plugin (shared: pushed and summed by the share). */
  localCounts(): {
    name: string;
    sha256: string;
    source: "api" | "plugin_dir";
    count: number;
    last: string | null;
  }[] {
    return [...this.#entries.values()].map((e) => ({
      name: e.stored.name,
      sha256: e.stored.sha256,
      source: e.source,
      count: e.count,
      last: e.last,
    }));
  }

  #need(name: string): Entry {
    const e = this.#entries.get(name);
    if (e) return e;
    const shown = name.length > 140 ? `${name.slice(0, 140)}...` : name;
    throw new WardenError(
      "plugin_not_found",
      `plugin not found: ${JSON.stringify(shown)}; GET /v1/wasm/plugins lists the registered ones`,
      { category: "usage", details: { plugin: shown } },
    );
  }

  async #add(stored: StoredPlugin, bytes: Uint8Array, source: Entry["source"]): Promise<Entry> {
    this.#log.debug(
      { event: "wasm.plugin.compile", plugin: stored.name, size_bytes: bytes.byteLength },
      "wasm.plugin.compile",
    );
    const plugin = await this.#compiler.load(bytes, {
      name: stored.name,
      limits: { memory_limit_bytes: stored.memory_limit_bytes, timeout_ms: stored.timeout_ms },
      ...(this.#opts.cacheDir === undefined ? {} : { cacheDir: this.#opts.cacheDir }),
    });
    // the limits in force (memory is whole 64 KiB pages)
    const eff = {
      ...stored,
      memory_limit_bytes: plugin.limits.memory_limit_bytes,
      timeout_ms: plugin.limits.timeout_ms,
    };
    const entry: Entry = {
      stored: eff,
      plugin,
      source,
      size: bytes.byteLength,
      count: 0,
      last: null,
      memory: 0,
    };
    this.#entries.set(stored.name, entry);
    return entry;
  }

  /**
   * Follow wasm.plugin_dir while running: a `.wasm` added or changed there is loaded (the new
   * version replaces the old one only once it compiled and instantiated), one removed is
   * unregistered; a broken one is refused with its reason on the log (`wasm.plugin.rejected`)
   * and the version in force keeps running. Returns a function that stops following.
   */
  watchPluginDir(debounceMs = 150): () => void {
    const dir = this.#opts.pluginDir;
    if (dir === undefined) return () => {};
    const watcher = new FileWatcher(() => void this.syncPluginDir(), debounceMs).set([dir]);
    if (!watcher.watches(dir))
      this.#log.warn(
        { event: "wasm.plugin.rejected", file: dir },
        `cannot watch wasm.plugin_dir ${dir} (missing or unreadable); restart to pick up changes`,
      );
    const stop = () => watcher.close();
    this.#unwatch = stop;
    return stop;
  }

  #unwatch: (() => void) | undefined;

  /** Bring the plugin_dir plugins in line with the folder now (what the watcher runs). */
  syncPluginDir(): Promise<void> {
    const run = this.#syncing.then(() => this.#sync());
    this.#syncing = run.catch(() => {});
    return run;
  }

  #syncing: Promise<void> = Promise.resolve();

  async #sync(): Promise<void> {
    const dir = this.#opts.pluginDir;
    if (dir === undefined) return;
    let files: string[];
    try {
      files = (await readdir(dir)).filter((f) => f.endsWith(".wasm")).sort();
    } catch (e) {
      this.#log.warn(
        { event: "wasm.plugin.rejected", file: dir },
        `wasm.plugin_dir ${dir} cannot be read (${(e as NodeJS.ErrnoException).code}); its plugins keep running`,
      );
      return;
    }
    const present = new Set<string>();
    for (const f of files) {
      const name = f.slice(0, -".wasm".length);
      const file = join(dir, f);
      present.add(name);
      const cur = this.#entries.get(name);
      if (cur?.source === "api") continue; // the API's plugin of that name is in force
      const reject = (code: string, why: string) =>
        this.#log.warn(
          { event: "wasm.plugin.rejected", plugin: name, file, code },
          `${file}: ${why}; ${cur ? "the version in force keeps running" : "not registered"}`,
        );
      try {
        checkRegistryName(name);
      } catch (e) {
        reject("plugin_name_invalid", `${(e as Error).message}; rename the file`);
        continue;
      }
      let bytes: Uint8Array;
      try {
        bytes = await readModuleFile(file, MAX_MODULE_BYTES);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT") present.delete(name);
        else if (e instanceof WardenError) reject(e.code, e.message);
        else reject("registry_corrupt", `cannot read it (${(e as NodeJS.ErrnoException).code})`);
        continue;
      }
      const hash = sha256(bytes);
      if (cur?.stored.sha256 === hash) continue;
      if (!cur && this.#entries.size + this.#pending.size >= MAX_PLUGINS) {
        reject(
          "registry_full",
          `${MAX_PLUGINS} plugins are registered, the most the registry holds`,
        );
        continue;
      }
      const stored: StoredPlugin = {
        name,
        description: null,
        enabled: cur?.stored.enabled ?? true,
        ...this.defaults,
        registered_at: this.#now().toISOString(),
        sha256: hash,
      };
      try {
        await this.#add(stored, bytes, "plugin_dir");
      } catch (e) {
        const code = e instanceof WardenError ? e.code : "compile_error";
        reject(code, `${(e as Error).message}; fix or remove the file`);
        continue;
      }
      this.#log.info(
        { event: "wasm.plugin.register", plugin: name, file, source: "plugin_dir", reload: true },
        "wasm.plugin.register",
      );
      this.#changed();
    }
    for (const [name, e] of [...this.#entries]) {
      if (e.source !== "plugin_dir" || present.has(name)) continue;
      this.#entries.delete(name);
      this.#log.info(
        { event: "wasm.plugin.delete", plugin: name, source: "plugin_dir" },
        "wasm.plugin.delete",
      );
      this.#opts.observer?.deleted?.(name);
      this.#changed();
    }
  }

  async #scan(dir: string): Promise<void> {
    let names: string[];
    try {
      names = (await readdir(dir)).filter((f) => f.endsWith(".wasm")).sort();
    } catch (e) {
      throw new WardenError(
        "registry_corrupt",
        `wasm.plugin_dir ${dir} cannot be read (${(e as NodeJS.ErrnoException).code}); create it or fix wasm.plugin_dir`,
        { category: "config", details: { file: dir }, cause: e },
      );
    }
    for (const f of names) {
      const file = join(dir, f);
      const name = f.slice(0, -".wasm".length);
      try {
        checkRegistryName(name);
      } catch (e) {
        throw new WardenError(
          "plugin_name_invalid",
          `${file}: ${(e as Error).message}; rename the file`,
          { category: "config", details: { file }, cause: e },
        );
      }
      if (this.#entries.size >= MAX_PLUGINS)
        throw new WardenError(
          "registry_full",
          `${dir} holds more than ${MAX_PLUGINS} plugins, the most the registry holds; remove some`,
          { category: "config", details: { file: dir, limit: MAX_PLUGINS } },
        );
      const bytes = await readModuleFile(file, MAX_MODULE_BYTES);
      const stored: StoredPlugin = {
        name,
        description: null,
        enabled: true,
        ...this.defaults,
        registered_at: this.#now().toISOString(),
        sha256: sha256(bytes),
      };
      try {
        await this.#add(stored, bytes, "plugin_dir");
      } catch (e) {
        // a module of the config that is not a plugin is a config error (exit 2), naming the file
        if (!(e instanceof WardenError)) throw e;
        throw new WardenError(e.code, `${file}: ${e.message}; fix or remove the file`, {
          category: "config",
          details: { ...e.details, file },
          cause: e,
        });
      }
      this.#log.info(
        { event: "wasm.plugin.register", plugin: name, file, source: "plugin_dir" },
        "wasm.plugin.register",
      );
    }
  }

  /** The entries kept under state.dir (registered over the API). */
  #kept(): StoredPlugin[] {
    return [...this.#entries.values()].filter((e) => e.source === "api").map((e) => e.stored);
  }

  #changed(): void {
    this.#opts.observer?.changed?.(this.#entries.size, this.memoryUsedBytes);
  }

  #registered(e: Entry): RegisteredPlugin {
    const s = e.stored;
    return {
      name: s.name,
      description: s.description,
      enabled: s.enabled,
      memory_limit_bytes: s.memory_limit_bytes,
      timeout_ms: s.timeout_ms,
      registered_at: s.registered_at,
    };
  }

  #info(e: Entry): PluginInfo {
    return {
      ...this.#registered(e),
      invocation_count:
        this.#opts.share?.count?.(e.stored.name, e.stored.sha256, e.count) ?? e.count,
      last_invoked_at: this.#opts.share?.last?.(e.stored.name, e.stored.sha256, e.last) ?? e.last,
      source: e.source,
      sha256: e.stored.sha256,
      size_bytes: e.size,
    };
  }
}
