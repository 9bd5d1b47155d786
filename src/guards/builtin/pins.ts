import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { WardenError } from "../../core/errors.js";
import type { GuardTool } from "../types.js";

/** One tool version as it was seen. */
export interface PinVersion {
  hash: string;
  description: string;
  seen_at: string;
}

/** A pinned tool, and the change waiting for a person, if any. */
export interface Pin extends PinVersion {
  approved_by?: string;
  pending?: PinVersion;
}

export interface PinsFile {
  version: 1;
  /** server name -> tool name -> pin */
  servers: Record<string, Record<string, Pin>>;
}

/** sha256 of a tool's name, description and input schema (keys sorted, so order does not matter). */
export function toolHash(tool: GuardTool): string {
  const h = createHash("sha256");
  h.update(
    canonical({
      name: tool.name,
      description: tool.description ?? "",
      inputSchema: tool.inputSchema ?? null,
    }),
  );
  return `sha256:${h.digest("hex")}`;
}

function canonical(v: unknown): string {
  if (v === null || typeof v !== "object") return JSON.stringify(v) ?? "null";
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  const keys = Object.keys(v).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(",")}}`;
}

function invalid(file: string, why: string, cause?: unknown): WardenError {
  return new WardenError(
    "pins_invalid",
    `The pins file ${file} ${why}. Fix it by hand, or move it away to pin every tool again on next sight.`,
    { category: "config", details: { file }, cause },
  );
}

/** Read a pins file; a missing file is an empty one. */
export function readPins(file: string): PinsFile {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { version: 1, servers: {} };
    throw invalid(file, "cannot be read", error);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw invalid(file, "is not valid JSON", error);
  }
  const d = data as PinsFile;
  if (
    typeof d !== "object" ||
    d === null ||
    d.version !== 1 ||
    typeof d.servers !== "object" ||
    d.servers === null
  )
    throw invalid(file, 'is not a pins file (expected {"version": 1, "servers": {...}})');
  for (const [server, tools] of Object.entries(d.servers))
    for (const [tool, pin] of Object.entries(tools ?? {}))
      if (typeof pin?.hash !== "string")
        throw invalid(file, `has no hash for tool "${tool}" of server "${server}"`);
  return d;
}

/** Write atomically (temp file + rename), so a reader never sees half a file. */
export function writePins(file: string, pins: PinsFile): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(pins, null, 2)}\n`);
  renameSync(tmp, file);
}

function mtimeOf(file: string): number {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}

/**
 * The pins a rug_pull guard keeps: in memory, saved to the file when something changes, and
 * re-read when the file changed on disk (`warden pins approve` ran), checked at most every
 * `refreshMs` so the per-call path does no I/O in between.
 */
export class PinStore {
  readonly file: string;
  #pins: PinsFile;
  #mtime: number;
  #checkedAt = 0;
  #dirty: Array<[string, string, Pin]> = [];
  readonly #refreshMs: number;

  constructor(file: string, refreshMs = 500) {
    this.file = file;
    this.#refreshMs = refreshMs;
    this.#pins = readPins(file);
    this.#mtime = mtimeOf(file);
  }

  /** Re-read the file if it changed on disk since we last read or wrote it. */
  refresh(now: number): void {
    if (now - this.#checkedAt < this.#refreshMs) return;
    this.#checkedAt = now;
    const m = mtimeOf(this.file);
    if (m !== this.#mtime) {
      this.#pins = readPins(this.file);
      this.#mtime = m;
    }
  }

  get(server: string, tool: string): Pin | undefined {
    return this.#pins.servers[server]?.[tool];
  }

  set(server: string, tool: string, pin: Pin): void {
    (this.#pins.servers[server] ??= {})[tool] = pin;
    this.#dirty.push([server, tool, pin]);
  }

  save(): void {
    // A person may have approved something meanwhile: re-read and re-apply our own changes.
    if (mtimeOf(this.file) !== this.#mtime) {
      const disk = readPins(this.file);
      for (const [server, tool, pin] of this.#dirty) {
        const d = disk.servers[server]?.[tool];
        if (d === undefined) (disk.servers[server] ??= {})[tool] = pin;
        else if (pin.pending !== undefined && d.hash === pin.hash) d.pending = pin.pending;
      }
      this.#pins = disk;
    }
    this.#dirty = [];
    writePins(this.file, this.#pins);
    this.#mtime = mtimeOf(this.file);
  }
}

/** One row of `warden pins list`. */
export interface PinRow {
  server: string;
  tool: string;
  hash: string;
  status: "pinned" | "changed";
  pending_hash?: string;
  description?: string;
  pending_description?: string;
}

export function listPins(file: string): PinRow[] {
  const pins = readPins(file);
  const rows: PinRow[] = [];
  for (const [server, tools] of Object.entries(pins.servers))
    for (const [tool, pin] of Object.entries(tools)) {
      const row: PinRow = {
        server,
        tool,
        hash: pin.hash,
        status: pin.pending ? "changed" : "pinned",
      };
      if (pin.pending) {
        row.pending_hash = pin.pending.hash;
        row.description = pin.description;
        row.pending_description = pin.pending.description;
      }
      rows.push(row);
    }
  return rows;
}

/**
 * Approve pending changes: the new version becomes the pin. `tool` undefined approves every
 * pending change of `server`; `server` undefined approves everything. Returns what was approved.
 */
export function approvePins(file: string, server?: string, tool?: string, by = "cli"): PinRow[] {
  const pins = readPins(file);
  const approved: PinRow[] = [];
  for (const [s, tools] of Object.entries(pins.servers)) {
    if (server !== undefined && s !== server) continue;
    for (const [t, pin] of Object.entries(tools)) {
      if (tool !== undefined && t !== tool) continue;
      if (pin.pending === undefined) continue;
      approved.push({ server: s, tool: t, hash: pin.pending.hash, status: "pinned" });
      tools[t] = { ...pin.pending, approved_by: by };
    }
  }
  if (approved.length === 0)
    throw new WardenError(
      "pin_not_found",
      `No pending change${tool ? ` for tool "${tool}"` : ""}${server ? ` of server "${server}"` : ""} in ${file}. Run \`warden pins list\` to see what is pending.`,
      { category: "usage", details: { file, server, tool } },
    );
  writePins(file, pins);
  return approved;
}
