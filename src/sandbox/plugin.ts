/**
 * `loadPlugin` and `Plugin.evaluate`: the JSON ABI under limits. A plugin holds one pooled
 * instance. By default every evaluation starts from the instance's initial image (memory,
 * globals; tables are never written by resettable modules), restored after each evaluation;
 * modules that cannot be reset are re-instantiated. `stateful: true` keeps state instead.
 */
import { readFile } from "node:fs/promises";
import type { WardenError } from "../core/errors.js";
import { decodeOutput, encodeInput, type Verdict, writeInput } from "./abi.js";
import { Budget } from "./budget.js";
import { sandboxError } from "./errors.js";
import { Slot } from "./instance.js";
import { checkPluginName, type LimitsInput, resolveLimits } from "./limits.js";
import { type PreparedModule, prepareModule } from "./prepare.js";
import { RECLAIM_BYTES, reclaim } from "./reclaim.js";
import { classify } from "./traps.js";
import { WASI_MODULE, wasiImports } from "./wasi.js";

export interface PluginOptions {
  /** Plugin name for errors and logs: `[A-Za-z0-9._-]`, 1 to 128 characters. */
  name: string;
  limits?: LimitsInput;
  /** Keep one instance whose memory and globals persist between evaluations. */
  stateful?: boolean;
  /** Default evaluation export (default "evaluate"). */
  function?: string;
  /** On-disk cache of instrumented modules (see PrepareOptions.cacheDir); `false` disables it. */
  cacheDir?: string | false;
}

export interface EvaluateOptions {
  /** Evaluation export to call instead of the plugin's default. */
  function?: string;
}

export interface Evaluation extends Verdict {
  duration_us: number;
  memory_used_bytes: number;
  /** Fuel used, when a fuel limit is set. */
  fuel_used?: number;
  /** What the plugin wrote to stdout/stderr (bounded), when it wrote anything. */
  log?: string;
}

const WASI_NAMES = new Set(Object.keys(wasiImports({} as never)));

function sig(p: PreparedModule, name: string): string | null {
  const s = p.signatures.get(name);
  return s ? `(${s.params.join(", ")}) -> (${s.results.join(", ")})` : null;
}

/** Problems that make a prepared module unusable as a JSON ABI plugin (empty: fine). */
export function abiProblems(
  p: PreparedModule,
  fn = "evaluate",
): { code: "link_error" | "missing_export"; message: string; details: Record<string, unknown> }[] {
  const out: ReturnType<typeof abiProblems> = [];
  for (const i of p.imports) {
    if (i.module === WASI_MODULE && i.kind === "function" && WASI_NAMES.has(i.name)) continue;
    out.push({
      code: "link_error",
      message: `imports ${i.module}.${i.name} (${i.kind}), which is not granted; plugins may import only WASI preview 1 functions (${WASI_MODULE})`,
      details: { import: `${i.module}.${i.name}` },
    });
  }
  const mem = p.exports.find((e) => e.name === "memory");
  if (mem?.kind !== "memory") {
    out.push({
      code: "missing_export",
      message: 'does not export its memory as "memory"',
      details: { export: "memory" },
    });
  }
  const checks: [string, string, boolean][] = [
    [fn, "(i32, i32) -> (i64)", true],
    ["allocate", "(i32) -> (i32)", false],
    ["_initialize", "() -> ()", false],
  ];
  for (const [name, want, required] of checks) {
    const got = sig(p, name);
    const exported = p.exports.some((e) => e.name === name);
    if (!exported && !required) continue;
    if (got === want.replace("() -> ()", "() -> (none)") || got === want) continue;
    out.push({
      code: "missing_export",
      message: exported
        ? `exports ${name} with signature ${got ?? "(not a function)"}, expected ${want}`
        : `does not export the function ${name} ${want}`,
      details: { export: name },
    });
  }
  return out;
}

export class Plugin {
  readonly name: string;
  readonly stateful: boolean;
  readonly prepared: PreparedModule;
  readonly #budget: Budget;
  readonly #function: string;
  readonly #checked = new Set<string>();
  #slot: Slot | null = null;
  #reclaimPending = false;

  constructor(prepared: PreparedModule, options: PluginOptions) {
    this.name = prepared.name;
    this.prepared = prepared;
    this.stateful = options.stateful === true;
    this.#function = options.function ?? "evaluate";
    this.#budget = new Budget(this.name, prepared.limits);
    this.#budget.boundChunkByCode(prepared.maxBodyBytes);
    const problems = abiProblems(prepared, this.#function);
    const first = problems[0];
    if (first) throw sandboxError(first.code, this.name, first.message, first.details);
    this.#checked.add(this.#function);
  }

  get limits() {
    return this.prepared.limits;
  }

  /** Instantiate now (under the limits) instead of at the first evaluation. */
  warm(): void {
    if (this.#slot) return;
    this.#budget.start();
    try {
      this.#slot = this.#instantiate();
    } catch (error) {
      throw initFailed(classify(error, { budget: this.#budget, phase: "instantiate" }));
    } finally {
      this.#budget.finish();
    }
  }

  /** Evaluate `input` (a JSON string, UTF-8 bytes, or a value to serialize). */
  async evaluate(input: unknown, options: EvaluateOptions = {}): Promise<Evaluation> {
    return this.evaluateSync(input, options);
  }

  /** Synchronous evaluate: blocks the caller for at most timeout_ms. */
  evaluateSync(input: unknown, options: EvaluateOptions = {}): Evaluation {
    const fn = options.function ?? this.#function;
    if (!this.#checked.has(fn)) this.#checkFunction(fn);
    const limits = this.prepared.limits;
    const data = encodeInput(input, this.name, limits.max_input_bytes);
    const len = data.length;
    const budget = this.#budget;
    const t0 = performance.now();
    budget.start(t0);
    let slot = this.#slot;
    let phase = fn;
    let result: Verdict | undefined;
    let failure: WardenError | undefined;
    try {
      if (!slot) {
        phase = "instantiate";
        slot = this.#slot = this.#instantiate();
        phase = fn;
      }
      let ptr: number;
      if (slot.allocate) {
        phase = "allocate";
        ptr = slot.allocate(len) as number;
        phase = fn;
        if (ptr === 0 || ptr < 0 || ptr + len > slot.memory.buffer.byteLength) {
          throw this.#badAllocation(slot, ptr, len);
        }
      } else {
        slot.reserveInput(len);
        ptr = slot.inputPtr;
      }
      writeInput(data, slot.memory.buffer, ptr);
      const packed = slot.fn(fn)(ptr, len);
      result = decodeOutput(packed, slot.memory.buffer, this.name, fn, limits.max_output_bytes);
    } catch (error) {
      failure = classify(error, {
        budget,
        phase,
        ...(slot ? { memoryBytes: slot.memory.buffer.byteLength } : {}),
      });
      if (phase === "instantiate") failure = initFailed(failure);
    }
    const fuelUsed = budget.finish();
    const out = result as Evaluation;
    if (slot) {
      if (result) {
        out.duration_us = Math.round((performance.now() - t0) * 10_000) / 10;
        out.memory_used_bytes = slot.memory.buffer.byteLength;
        if (limits.fuel !== null) out.fuel_used = fuelUsed;
        if (slot.ctx.logBytes > 0) out.log = slot.ctx.log;
      }
      // Fresh: back to the initial image now, so no input or state lingers. A failure may have
      // stopped the guest half-way, so its instance is never reused, stateful or not.
      if (failure || (!this.stateful && !slot.reset())) this.#discard();
    }
    if (failure) throw failure;
    return out;
  }

  /** Drop the pooled instance (the next evaluation instantiates a fresh one). */
  #discard(): void {
    const slot = this.#slot;
    if (!slot) return;
    slot.dispose();
    this.#slot = null;
    if (slot.memory.buffer.byteLength - slot.initialBytes >= RECLAIM_BYTES) {
      // Collect once nothing on the stack refers to the old instance any more: before the next
      // instantiation, or on the next turn of the event loop, whichever comes first.
      this.#reclaimPending = true;
      setImmediate(() => this.#reclaimNow());
    }
  }

  #reclaimNow(): void {
    if (!this.#reclaimPending) return;
    this.#reclaimPending = false;
    reclaim();
  }

  #instantiate(): Slot {
    this.#reclaimNow();
    const slot = new Slot(this.prepared, this.#budget);
    try {
      slot.initialize();
      if (!slot.allocate) slot.reserveInput(1, true);
      if (!this.stateful && this.prepared.resettable) slot.snapshot();
    } catch (error) {
      slot.dispose();
      throw error;
    }
    return slot;
  }

  #checkFunction(fn: string): void {
    const bad = abiProblems(this.prepared, fn).find((p) => p.details.export === fn);
    if (bad) throw sandboxError(bad.code, this.name, bad.message, bad.details);
    this.#checked.add(fn);
  }

  #badAllocation(slot: Slot, ptr: number, len: number): WardenError {
    const used = slot.memory.buffer.byteLength;
    const limit = this.prepared.limits.memory_limit_bytes;
    if (ptr === 0) {
      return sandboxError(
        "memory_exceeded",
        this.name,
        `allocate(${len}) returned 0 (out of memory at ${used} of memory_limit_bytes=${limit}); raise memory_limit_bytes`,
        { limit: "memory_limit_bytes", memory_limit_bytes: limit, memory_used_bytes: used },
      );
    }
    return sandboxError(
      "invalid_output",
      this.name,
      `allocate(${len}) returned ${ptr}, outside its ${used}-byte memory; fix the plugin's allocate`,
      { export: "allocate", ptr },
    );
  }
}

/** Load a plugin from bytes or a file path: validate, instrument, compile (cached), check ABI. */
/** Read a module file; a missing or unreadable file is `not_found`, naming the plugin and path. */
export async function readModuleFile(path: string, name: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (error) {
    throw sandboxError(
      "not_found",
      name,
      `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}; check the path`,
      { path },
      error,
    );
  }
}

export async function loadPlugin(
  source: Uint8Array | ArrayBuffer | string,
  options: PluginOptions,
): Promise<Plugin> {
  const name = checkPluginName(options.name);
  const limits = resolveLimits(options.limits, name);
  const bytes =
    typeof source === "string"
      ? await readModuleFile(source, name)
      : source instanceof Uint8Array
        ? source
        : new Uint8Array(source);
  const prepared = await prepareModule(bytes, {
    name,
    limits,
    ...(options.cacheDir === undefined ? {} : { cacheDir: options.cacheDir }),
  });
  const plugin = new Plugin(prepared, options);
  plugin.warm();
  return plugin;
}

/** Wrap what stopped instantiation (start function, `_initialize`) as init_failed. */
function initFailed(inner: WardenError): WardenError {
  const plugin = String(inner.details.plugin ?? "");
  return sandboxError(
    "init_failed",
    plugin,
    `instantiation failed: ${inner.message.replace(`plugin "${plugin}": `, "")}`,
    { ...inner.details, cause_code: inner.code },
    inner,
  );
}
