/**
 * JSON ABI v1: the input is a UTF-8 JSON document; the output is a JSON object with a boolean
 * `verdict`, an optional string `message` and an optional object `metadata`, nothing else.
 */
import { sandboxError } from "./errors.js";
import { utf8Length, writeUtf8 } from "./utf8.js";

export interface Verdict {
  verdict: boolean;
  message?: string;
  metadata?: Record<string, unknown>;
}

const decoder = new TextDecoder("utf-8", { fatal: true });

/** An input ready to be written into guest memory: raw bytes, or a JSON text and its length. */
export interface Input {
  bytes: Uint8Array | null;
  text: string;
  length: number;
}

/**
 * Prepare an input: a string must be a JSON document, a Uint8Array is taken as UTF-8 JSON bytes
 * as is (the caller vouches for it), anything else is serialized with JSON.stringify.
 */
export function encodeInput(input: unknown, plugin: string, maxBytes: number): Input {
  let text = "";
  let bytes: Uint8Array | null = null;
  if (input instanceof Uint8Array) bytes = input;
  else if (typeof input === "string") {
    try {
      JSON.parse(input);
    } catch (error) {
      throw sandboxError(
        "invalid_input",
        plugin,
        `input is not a JSON document: ${(error as Error).message}`,
        {},
        error,
      );
    }
    text = input;
  } else {
    let t: string | undefined;
    try {
      t = JSON.stringify(input);
    } catch (error) {
      throw sandboxError(
        "invalid_input",
        plugin,
        `input cannot be serialized as JSON: ${(error as Error).message}`,
        {},
        error,
      );
    }
    if (t === undefined) {
      throw sandboxError(
        "invalid_input",
        plugin,
        "input cannot be serialized as JSON (undefined or a function)",
      );
    }
    text = t;
  }
  const length = bytes ? bytes.length : utf8Length(text);
  if (length > maxBytes) {
    throw sandboxError(
      "too_large",
      plugin,
      `input is ${length} bytes, over max_input_bytes=${maxBytes}; send less or raise the limit`,
      { limit: "max_input_bytes", size: length },
    );
  }
  return { bytes, text, length };
}

/** Copy a prepared input into guest memory at `ptr`. */
export function writeInput(input: Input, memory: ArrayBuffer, ptr: number): void {
  const view = new Uint8Array(memory);
  if (input.bytes) view.set(input.bytes, ptr);
  else writeUtf8(input.text, view, ptr, input.length);
}

function invalid(plugin: string, fn: string, what: string, extra: Record<string, unknown> = {}) {
  return sandboxError(
    "invalid_output",
    plugin,
    `${fn} returned ${what}; the output must be a JSON object {"verdict": boolean, "message"?: string, "metadata"?: object}`,
    { export: fn, ...extra },
  );
}

/** Short pure-ASCII outputs are decoded in JS (faster than a TextDecoder call); else null. */
function asciiText(raw: Uint8Array): string | null {
  for (let i = 0; i < raw.length; i++) if (raw[i]! >= 0x80) return null;
  return String.fromCharCode.apply(null, raw as unknown as number[]);
}

/** Read and check the output a guest function returned as (ptr << 32 | len). */
export function decodeOutput(
  packed: unknown,
  memory: ArrayBuffer,
  plugin: string,
  fn: string,
  maxBytes: number,
): Verdict {
  if (typeof packed !== "bigint") throw invalid(plugin, fn, `a ${typeof packed}, not an i64`);
  const ptr = Number(BigInt.asUintN(32, packed >> 32n));
  const len = Number(BigInt.asUintN(32, packed));
  if (len > maxBytes) {
    throw sandboxError(
      "too_large",
      plugin,
      `${fn} returned ${len} bytes of output, over max_output_bytes=${maxBytes}; return less or raise the limit`,
      { limit: "max_output_bytes", size: len, export: fn },
    );
  }
  if (ptr + len > memory.byteLength) {
    throw invalid(
      plugin,
      fn,
      `a pointer outside its memory (ptr=${ptr}, len=${len}, memory=${memory.byteLength} bytes)`,
      { ptr, len },
    );
  }
  const raw = new Uint8Array(memory, ptr, len);
  let text = len <= 512 ? asciiText(raw) : null;
  if (text === null) {
    try {
      text = decoder.decode(raw);
    } catch {
      throw invalid(plugin, fn, "bytes that are not valid UTF-8");
    }
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw invalid(
      plugin,
      fn,
      `text that is not JSON (${(error as Error).message}): ${JSON.stringify(text.slice(0, 80))}`,
    );
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw invalid(
      plugin,
      fn,
      `${Array.isArray(value) ? "an array" : JSON.stringify(value)?.slice(0, 80)}, not an object`,
    );
  }
  const out = value as Record<string, unknown>;
  if (typeof out.verdict !== "boolean") {
    throw invalid(
      plugin,
      fn,
      `an object whose "verdict" is ${out.verdict === undefined ? "missing" : `not a boolean (${JSON.stringify(out.verdict)})`}`,
    );
  }
  if (out.message !== undefined && typeof out.message !== "string") {
    throw invalid(plugin, fn, `a "message" that is not a string`);
  }
  const md = out.metadata;
  if (md !== undefined && (typeof md !== "object" || md === null || Array.isArray(md))) {
    throw invalid(plugin, fn, `a "metadata" that is not an object`);
  }
  for (const key in out) {
    if (key !== "verdict" && key !== "message" && key !== "metadata") {
      throw invalid(plugin, fn, `an unknown key ${JSON.stringify(key)}`);
    }
  }
  return out as unknown as Verdict;
}
