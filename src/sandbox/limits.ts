import { sandboxError } from "./errors.js";

/** Every limit a plugin runs under. A limit that is not configured is the default, never off. */
export interface Limits {
  /** Linear memory cap (the module's declared maximum is lowered to it). 64 KiB to 256 MiB. */
  memory_limit_bytes: number;
  /** Wall-clock budget per evaluation (and for instantiation). 1 ms to 30 s. */
  timeout_ms: number;
  /** Instruction budget per evaluation (deterministic); `null` = no fuel limit (the default). */
  fuel: number | null;
  /** Largest input document, in bytes. */
  max_input_bytes: number;
  /** Largest output document, in bytes. */
  max_output_bytes: number;
  /** Largest table (elements); larger declared tables are refused, table.grow past it fails. */
  table_elements: number;
  /** Largest module file, in bytes. */
  max_module_bytes: number;
}

export type LimitsInput = Partial<Limits>;

export const PAGE = 65_536;
const MiB = 1024 * 1024;

export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  memory_limit_bytes: 16 * MiB,
  timeout_ms: 100,
  fuel: null,
  max_input_bytes: MiB,
  max_output_bytes: MiB,
  table_elements: 10_000,
  max_module_bytes: 16 * MiB,
});

const RANGES: Record<Exclude<keyof Limits, "fuel">, [number, number, string]> = {
  memory_limit_bytes: [PAGE, 256 * MiB, "64 KiB to 256 MiB"],
  timeout_ms: [1, 30_000, "1 ms to 30 s"],
  max_input_bytes: [1, 64 * MiB, "1 byte to 64 MiB"],
  max_output_bytes: [1, 64 * MiB, "1 byte to 64 MiB"],
  table_elements: [0, 10_000_000, "0 to 10,000,000"],
  max_module_bytes: [8, 256 * MiB, "8 bytes to 256 MiB"],
};

/** Validate limits once (unknown keys and out-of-range values are errors), fill defaults, freeze. */
export function resolveLimits(input: LimitsInput | undefined, plugin: string): Readonly<Limits> {
  const out: Limits = { ...DEFAULT_LIMITS };
  for (const [key, value] of Object.entries(input ?? {})) {
    if (value === undefined) continue;
    if (key === "fuel") {
      if (value === null) continue;
      if (typeof value !== "number" || !Number.isSafeInteger(value) || value <= 0) {
        throw sandboxError(
          "invalid_limit",
          plugin,
          `limit fuel must be a positive integer (got ${JSON.stringify(value)})`,
          { limit: "fuel" },
        );
      }
      out.fuel = value;
      continue;
    }
    const range = RANGES[key as keyof typeof RANGES];
    if (range === undefined) {
      throw sandboxError(
        "invalid_limit",
        plugin,
        `unknown limit "${key}" (known: ${[...Object.keys(RANGES), "fuel"].join(", ")})`,
        { limit: key },
      );
    }
    if (
      typeof value !== "number" ||
      !Number.isInteger(value) ||
      value < range[0] ||
      value > range[1]
    ) {
      throw sandboxError(
        "invalid_limit",
        plugin,
        `limit ${key} must be an integer from ${range[2]} (got ${JSON.stringify(value)})`,
        { limit: key },
      );
    }
    (out as unknown as Record<string, number>)[key] = value;
  }
  // Memory is handed out in whole 64 KiB pages.
  out.memory_limit_bytes = Math.floor(out.memory_limit_bytes / PAGE) * PAGE;
  return Object.freeze(out);
}

const NAME_RE = /^[A-Za-z0-9._-]{1,128}$/;

/** Plugin names: `[A-Za-z0-9._-]`, 1 to 128 characters. */
export function checkPluginName(name: unknown): string {
  if (typeof name !== "string" || !NAME_RE.test(name)) {
    const shown = typeof name === "string" ? name.slice(0, 140) : String(name);
    throw sandboxError(
      "invalid_limit",
      shown,
      "plugin name must be 1 to 128 characters of A-Z a-z 0-9 . _ -",
      { limit: "name" },
    );
  }
  return name;
}
