/**
 * One live instance of a plugin: its imports (WASI stubs, the fuel counter and tick), its
 * memory, the host's input area, and the snapshot that resets it to its initial image.
 */
import type { Budget, Meter } from "./budget.js";
import { sandboxError } from "./errors.js";
import { RESTORE_EXPORT, RT_MODULE, SAVE_EXPORT } from "./instrument.js";
import { PAGE } from "./limits.js";
import type { PreparedModule } from "./prepare.js";
import { type HostContext, WASI_MODULE, wasiImports } from "./wasi.js";

type GuestFn = (...args: number[]) => unknown;

export class Slot {
  readonly memory: WebAssembly.Memory;
  /** Memory size right after instantiation. */
  readonly initialBytes: number;
  readonly meter: Meter;
  readonly ctx: HostContext;
  readonly #exports: WebAssembly.Exports;
  readonly #fns = new Map<string, GuestFn>();
  readonly allocate: GuestFn | null;
  /** Host-managed input area, for plugins without `allocate`. */
  inputPtr = 0;
  inputCap = 0;
  #image: Uint8Array | null = null;
  #save: GuestFn;
  #restore: GuestFn;

  /** Instantiate under `budget` (which must be running: the start function is metered). */
  constructor(
    readonly prepared: PreparedModule,
    readonly budget: Budget,
  ) {
    this.ctx = { memory: null, budget, log: "", logBytes: 0 };
    const counter = new WebAssembly.Global({ value: "i32", mutable: true }, 0);
    const meter = budget.addMeter(counter);
    this.meter = meter;
    const wasi = wasiImports(this.ctx);
    const imports: WebAssembly.Imports = {
      [RT_MODULE]: { fuel: counter, tick: () => budget.tick(meter) },
    };
    if (prepared.imports.some((i) => i.module === WASI_MODULE)) {
      imports[WASI_MODULE] = wasi as unknown as WebAssembly.ModuleImports;
    }
    try {
      const instance = new WebAssembly.Instance(prepared.module, imports);
      this.#exports = instance.exports;
    } catch (error) {
      this.dispose();
      throw error;
    }
    this.memory = this.#exports.memory as WebAssembly.Memory;
    this.initialBytes = this.memory.buffer.byteLength;
    this.ctx.memory = this.memory;
    const alloc = this.#exports.allocate;
    this.allocate = typeof alloc === "function" ? (alloc as GuestFn) : null;
    this.#save = this.#exports[SAVE_EXPORT] as GuestFn;
    this.#restore = this.#exports[RESTORE_EXPORT] as GuestFn;
  }

  /** Run `_initialize` if the module exports it. */
  initialize(): void {
    const init = this.#exports._initialize;
    if (typeof init === "function") (init as GuestFn)();
  }

  fn(name: string): GuestFn {
    let f = this.#fns.get(name);
    if (!f) {
      f = this.#exports[name] as GuestFn;
      this.#fns.set(name, f);
    }
    return f;
  }

  /**
   * Grow the host input area to hold `len` bytes (plugins without `allocate`). When `optional`,
   * a memory already at its limit is left alone instead of failing.
   */
  reserveInput(len: number, optional = false): void {
    if (len <= this.inputCap) return;
    const pages = Math.ceil(Math.max(len, 1) / PAGE);
    const limit = this.prepared.limits.memory_limit_bytes;
    const old = this.memory.buffer.byteLength;
    if (old + pages * PAGE > limit) {
      if (optional) return;
      throw sandboxError(
        "memory_exceeded",
        this.budget.plugin,
        `an input of ${len} bytes does not fit in memory_limit_bytes=${limit} (memory already ${old} bytes); raise the limit or export allocate`,
        { limit: "memory_limit_bytes", memory_limit_bytes: limit, memory_used_bytes: old },
      );
    }
    this.memory.grow(pages);
    this.inputPtr = old;
    this.inputCap = pages * PAGE;
  }

  /** Remember the current memory and globals as the image `reset` returns to. */
  snapshot(): void {
    this.#save();
    this.#image = new Uint8Array(this.memory.buffer).slice();
  }

  /** Return to the snapshot; false when that is impossible (memory grew): discard instead. */
  reset(): boolean {
    const image = this.#image;
    if (!image || this.memory.buffer.byteLength !== image.length) return false;
    this.#restore();
    new Uint8Array(this.memory.buffer).set(image);
    this.ctx.log = "";
    this.ctx.logBytes = 0;
    return true;
  }

  dispose(): void {
    const i = this.budget.meters.indexOf(this.meter);
    if (i >= 0) this.budget.meters.splice(i, 1);
  }
}
