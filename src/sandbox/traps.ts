/** Turn whatever stopped a guest (an Interrupt, a V8 trap, a stack overflow) into a WardenError. */
import { isWardenError, type WardenError } from "../core/errors.js";
import { type Budget, Interrupt } from "./budget.js";
import { sandboxError } from "./errors.js";

export type TrapKind =
  | "unreachable"
  | "out_of_bounds"
  | "table_out_of_bounds"
  | "divide_by_zero"
  | "integer_overflow"
  | "invalid_conversion"
  | "indirect_call"
  | "null_reference"
  | "bad_cast"
  | "unaligned_access"
  | "stack_overflow"
  | "proc_exit"
  | "host"
  | "other";

/** V8's RuntimeError messages (src/common/message-template.h, WasmTrap*) to trap kinds. */
const KINDS: ReadonlyArray<[RegExp, TrapKind]> = [
  [/unreachable/i, "unreachable"],
  [/memory access out of bounds|data segment out of bounds/i, "out_of_bounds"],
  [/table index is out of bounds|element segment out of bounds|table/i, "table_out_of_bounds"],
  [/by zero/i, "divide_by_zero"],
  [/unrepresentable in integer range/i, "invalid_conversion"],
  [/divide result unrepresentable|integer overflow/i, "integer_overflow"],
  [/signature mismatch|null function|invalid index into function table/i, "indirect_call"],
  [/null/i, "null_reference"],
  [/illegal cast/i, "bad_cast"],
  [/unaligned/i, "unaligned_access"],
  [/array element access out of bounds|array/i, "out_of_bounds"],
];

const ADVICE: Partial<Record<TrapKind, string>> = {
  unreachable: "the plugin hit `unreachable` (often a panic or abort in its source language)",
  out_of_bounds: "the plugin read or wrote outside its linear memory",
  stack_overflow: "the plugin recursed too deeply (call stack exhausted)",
  divide_by_zero: "the plugin divided an integer by zero",
};

export function trapKind(error: unknown): TrapKind {
  if (error instanceof RangeError && /call stack/i.test(error.message)) return "stack_overflow";
  if (error instanceof WebAssembly.RuntimeError) {
    for (const [re, kind] of KINDS) if (re.test(error.message)) return kind;
    return "other";
  }
  return "host";
}

export interface ClassifyContext {
  budget: Budget;
  /** Current and maximum size of the plugin's memory, when it has one. */
  memoryBytes?: number;
  /** What was running: "evaluate" or the export name, "instantiate", "_initialize". */
  phase: string;
}

/** True when the memory is so close to its limit that a further allocation must have failed. */
export function memoryAtLimit(used: number | undefined, limit: number): boolean {
  return used !== undefined && used > limit - Math.max(65_536, limit / 16);
}

export function classify(error: unknown, ctx: ClassifyContext): WardenError {
  if (isWardenError(error)) return error;
  const { budget } = ctx;
  const name = budget.plugin;
  const limits = budget.limits;
  const where = ctx.phase;
  if (error instanceof Interrupt) {
    const ms = Math.round((performance.now() - budget.startedAt) * 10) / 10;
    if (error.kind === "timeout") {
      return sandboxError(
        "timeout",
        name,
        `${where} ran past timeout_ms=${limits.timeout_ms} and was stopped after ${ms} ms; raise timeout_ms or make the plugin faster`,
        { limit: "timeout_ms", timeout_ms: limits.timeout_ms, elapsed_ms: ms, phase: where },
      );
    }
    if (error.kind === "fuel_exhausted") {
      return sandboxError(
        "fuel_exhausted",
        name,
        `${where} used up its fuel=${limits.fuel} (instruction budget); raise fuel or make the plugin do less work`,
        { limit: "fuel", fuel: limits.fuel, phase: where },
      );
    }
    if (error.kind === "proc_exit") {
      return sandboxError(
        "trap",
        name,
        `${where} called WASI proc_exit(${error.exitCode}); a plugin must return its verdict instead of exiting`,
        { kind: "proc_exit", exit_code: error.exitCode, phase: where },
      );
    }
    return sandboxError(
      "trap",
      name,
      `${where} ran outside a budget (call it through runWithBudget)`,
      { kind: "host", phase: where },
    );
  }
  const kind = trapKind(error);
  const message = error instanceof Error ? error.message : String(error);
  if (kind !== "stack_overflow" && memoryAtLimit(ctx.memoryBytes, limits.memory_limit_bytes)) {
    return sandboxError(
      "memory_exceeded",
      name,
      `${where} stopped (${message}) with its memory at ${ctx.memoryBytes} of memory_limit_bytes=${limits.memory_limit_bytes}; raise memory_limit_bytes or make the plugin use less memory`,
      {
        limit: "memory_limit_bytes",
        memory_limit_bytes: limits.memory_limit_bytes,
        memory_used_bytes: ctx.memoryBytes,
        kind,
        phase: where,
        trap: message,
      },
    );
  }
  const advice = ADVICE[kind] ?? "the plugin trapped";
  return sandboxError(
    "trap",
    name,
    `${where} trapped (${kind}: ${message}): ${advice}; fix the plugin`,
    { kind, phase: where, trap: message },
    // V8's trap errors keep the wasm instance (and its memory) alive through their stack frames,
    // so they are not kept as the cause; the message and kind are in the details.
    kind === "host" ? error : undefined,
  );
}
