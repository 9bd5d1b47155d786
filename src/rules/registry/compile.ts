/**
 * Plugins compiled off the event loop: checking, instrumenting (Binaryen) and compiling a module
 * of up to 16 MiB takes the CPU for a while (seconds for a large one), so the registry hands
 * the bytes to one worker thread, started on first use, which runs the sandbox's prepareModule
 * and posts back the PreparedModule (the compiled WebAssembly.Module is shared, not copied).
 * Only the plugin's instantiation (its `_initialize`, under its timeout) runs on the caller's
 * thread. The admin API keeps answering (/healthz, the list, tests of other plugins) while an
 * upload compiles. One worker serves the process (every registry: Binaryen is loaded once, and
 * its cache of prepared modules is shared); it holds the process only while a compile is under
 * way.
 */
import { Worker } from "node:worker_threads";
import { WardenError } from "../../core/errors.js";
import {
  Plugin,
  type PluginOptions,
  type PreparedModule,
  resolvePluginLimits,
} from "../../sandbox/index.js";
import type { CompileReply, CompileRequest } from "./compile-protocol.js";

/** The worker's file: dist's build of compile-worker.ts (also when running from src, in tests). */
function workerUrl(): URL {
  const here = import.meta.url;
  if (here.endsWith(".ts"))
    return new URL(
      here.replace(
        /\/src\/rules\/registry\/compile\.ts$/,
        "/dist/rules/registry/compile-worker.js",
      ),
    );
  return new URL("./compile-worker.js", here);
}

interface Waiting {
  resolve(p: PreparedModule): void;
  reject(e: unknown): void;
}

export class PluginCompiler {
  #worker: Worker | undefined;
  #next = 1;
  readonly #waiting = new Map<number, Waiting>();

  /** Compile `bytes` in the worker, then make the plugin (instantiated once, here). */
  async load(bytes: Uint8Array, options: PluginOptions): Promise<Plugin> {
    // the limits are checked here first (invalid_limit), as loadPlugin does
    const limits = resolvePluginLimits(options.limits, options.name);
    const prepared = await this.#prepare(bytes, { ...options, limits });
    const plugin = new Plugin(prepared, options);
    plugin.warm();
    return plugin;
  }

  /** Stop the worker (a compile under way fails). */
  async close(): Promise<void> {
    const w = this.#worker;
    this.#worker = undefined;
    await w?.terminate();
  }

  #prepare(bytes: Uint8Array, options: PluginOptions): Promise<PreparedModule> {
    const w = this.#worker ?? this.#spawn();
    const id = this.#next++;
    const req: CompileRequest = {
      id,
      bytes,
      name: options.name,
      limits: options.limits ?? {},
      ...(options.cacheDir === undefined ? {} : { cacheDir: options.cacheDir }),
    };
    return new Promise<PreparedModule>((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      w.ref();
      w.postMessage(req);
    });
  }

  #spawn(): Worker {
    const w = new Worker(workerUrl());
    this.#worker = w;
    w.unref();
    w.on("message", (m: CompileReply) => {
      const waiting = this.#waiting.get(m.id);
      this.#waiting.delete(m.id);
      if (this.#waiting.size === 0) w.unref();
      if (waiting === undefined) return;
      if (m.ok) waiting.resolve(m.prepared);
      else
        waiting.reject(
          new WardenError(m.error.code, m.error.message, {
            category: m.error.category ?? "plugin",
            details: { ...m.error.details },
          }),
        );
    });
    const lost = (why: string) => {
      if (this.#worker === w) this.#worker = undefined;
      for (const [id, waiting] of this.#waiting) {
        this.#waiting.delete(id);
        waiting.reject(
          new WardenError(
            "compile_error",
            `the plugin compiler thread stopped (${why}); register the plugin again`,
            { category: "internal" },
          ),
        );
      }
    };
    w.on("error", (e) => lost(e.message));
    w.on("exit", (code) => lost(`exit ${code}`));
    return w;
  }
}

let shared: PluginCompiler | undefined;

/** The process's compiler thread (started on first use). */
export function sharedCompiler(): PluginCompiler {
  shared ??= new PluginCompiler();
  return shared;
}
