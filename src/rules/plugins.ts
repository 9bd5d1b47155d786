/**
 * `DirectoryPlugins`: the `RulePlugins` over a folder of `.wasm` files, each loaded with the
 * sandbox's `loadPlugin` (JSON ABI, pooled instance, limits) under the name of its file
 * (`fraud-scorer.wasm` is plugin `fraud-scorer`). For `warden rules eval --plugins DIR` and for
 * the gateway when no registry is configured; the admin layer's registry implements the same
 * interface with registration, persistence and metrics.
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { WardenError } from "../core/errors.js";
import type { LimitsInput } from "../sandbox/limits.js";
import { loadPlugin, type Plugin } from "../sandbox/plugin.js";
import type { ActionContext, PluginResult, RulePlugins } from "./types.js";

const NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/;

export interface DirectoryPluginsOptions {
  /** Limits of every plugin (the sandbox's defaults: 16 MiB, 100 ms). */
  limits?: LimitsInput;
  /** The sandbox's on-disk cache of instrumented modules (default: its own). */
  cacheDir?: string | false;
}

export class DirectoryPlugins implements RulePlugins {
  readonly dir: string;
  readonly #plugins: ReadonlyMap<string, Plugin>;

  private constructor(dir: string, plugins: Map<string, Plugin>) {
    this.dir = dir;
    this.#plugins = plugins;
  }

  /** Load every `<name>.wasm` of `dir`; a module that cannot be loaded fails the whole load. */
  static async load(dir: string, opts: DirectoryPluginsOptions = {}): Promise<DirectoryPlugins> {
    let names: string[];
    try {
      names = readdirSync(dir).filter((f) => f.endsWith(".wasm"));
    } catch (e) {
      throw new WardenError(
        "not_found",
        `cannot read the plugin directory ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}; check the path`,
        { category: "usage", details: { path: dir } },
      );
    }
    const plugins = new Map<string, Plugin>();
    for (const f of names.sort()) {
      const name = f.slice(0, -".wasm".length);
      if (!NAME.test(name)) continue; // not a plugin name: not ours
      plugins.set(
        name,
        await loadPlugin(join(dir, f), {
          name,
          ...(opts.limits === undefined ? {} : { limits: opts.limits }),
          ...(opts.cacheDir === undefined ? {} : { cacheDir: opts.cacheDir }),
        }),
      );
    }
    return new DirectoryPlugins(dir, plugins);
  }

  get names(): string[] {
    return [...this.#plugins.keys()];
  }

  has(plugin: string): boolean {
    return this.#plugins.has(plugin);
  }

  invoke(plugin: string, fn: string, input: ActionContext): PluginResult {
    const p = this.#plugins.get(plugin);
    if (p === undefined)
      throw new WardenError(
        "not_found",
        `plugin not found: ${plugin} (the plugin directory ${this.dir} has ${this.names.join(", ") || "none"}); add ${plugin}.wasm there`,
        { category: "plugin", details: { plugin } },
      );
    return p.evaluateSync(input, { function: fn });
  }
}
