/**
 * The `/configure` answer handed to every traced process in a file: `warden run` writes it
 * (mode 0600, in a fresh 0700 folder) before the program starts and names it, with its SHA-256,
 * in `WARDEN_TRACE_CONFIG`. An agent that reads it installs its hooks at once, before user code
 * runs, instead of waiting for a round trip to the CLI through a thread that is still starting
 * (most of a traced process's start on a busy machine: bench/HISTORY.md, 14:40 UTC entry).
 * A file whose bytes do not hash to what the environment says (changed by the program) is not
 * used: the agent asks `/configure` and waits, as without a file.
 */
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ConfigureAnswer } from "./protocol.js";

export interface Handoff {
  /** `ENV_CONFIG`'s value: `<sha256 hex>:<path>`. */
  readonly env: string;
  remove(): void;
}

/** Write `answer` for the run's processes (the CLI, before it spawns the program). */
export function writeHandoff(answer: ConfigureAnswer): Handoff {
  const dir = mkdtempSync(join(tmpdir(), "warden-run-"));
  const file = join(dir, "configure.json");
  const bytes = Buffer.from(JSON.stringify(answer));
  writeFileSync(file, bytes, { mode: 0o600, flag: "wx" });
  const hash = createHash("sha256").update(bytes).digest("hex");
  return {
    env: `${hash}:${file}`,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * The answer named by `ENV_CONFIG`'s value, or why it cannot be used (no value, unreadable,
 * another hash, not the answer's shape): the agent then asks `/configure`.
 */
export function readHandoff(value: string | undefined): ConfigureAnswer | string {
  if (value === undefined || value === "") return "no handed-over configuration";
  const colon = value.indexOf(":");
  if (colon !== 64) return "WARDEN_TRACE_CONFIG is not <sha256>:<path>";
  let bytes: Buffer;
  try {
    bytes = readFileSync(value.slice(colon + 1));
  } catch (e) {
    return `cannot read ${value.slice(colon + 1)}: ${(e as Error).message}`;
  }
  if (createHash("sha256").update(bytes).digest("hex") !== value.slice(0, colon))
    return `${value.slice(colon + 1)} changed since warden run wrote it`;
  let a: unknown;
  try {
    a = JSON.parse(bytes.toString("utf8"));
  } catch (e) {
    return `${value.slice(colon + 1)} is not JSON: ${(e as Error).message}`;
  }
  const c = a as Partial<ConfigureAnswer> | null;
  if (
    c === null ||
    typeof c !== "object" ||
    typeof c.policy?.text !== "string" ||
    typeof c.policy.file !== "string" ||
    !Array.isArray(c.sections) ||
    typeof c.t0 !== "string" ||
    typeof c.batch_ms !== "number" ||
    typeof c.batch_events !== "number" ||
    typeof c.review_timeout_ms !== "number"
  )
    return `${value.slice(colon + 1)} is not a configure answer`;
  return c as ConfigureAnswer;
}
