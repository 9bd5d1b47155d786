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
  /**
   * How `hash` was computed: 2 (`toolHash`: the whole definition but `_meta`); absent in pins
   * written before, whose hash covers only name, description and inputSchema (`toolHashV1`).
   */
  hash_version?: 2;
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

/** The version of the tool hashes this gateway writes (see `toolHash`). */
export const HASH_VERSION = 2;

/**
 * sha256 of a tool's whole definition as the client receives it, but `_meta` (keys sorted, so
 * order does not matter): name, title, description, inputSchema, outputSchema, annotations,
 * icons, execution and any field a later revision adds. Each of them steers a client (a title
 * or description is read by the model; readOnlyHint/destructiveHint decide whether some clients
 * ask before calling; outputSchema how a result is read), so a change to any is held. `_meta`
 * is left out: the spec reserves it for protocol and vendor metadata that servers may vary
 * between listings (progress, tracing, cache hints), which would hold tools that did not change.
 */
export function toolHash(tool: GuardTool): string {
  const h = createHash("sha256");
  h.update(canonical(definition(tool)));
  return `sha256:${h.digest("hex")}`;
}

/** What `toolHash` covers: the tool's own fields but `_meta` and undefined ones. */
export function definition(tool: GuardTool): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k in tool)
    if (k !== "_meta" && tool[k] !== undefined && Object.hasOwn(tool, k)) out[k] = tool[k];
  return out;
}

/**
 * The hash of pins written before `hash_version` 2: name, description and inputSchema only.
 * Used once per tool to upgrade such a pin (`upgradePin`).
 */
export function toolHashV1(tool: GuardTool): string {
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

/**
 * A pin written before hash version 2, upgraded to `hash` (the tool's version-2 hash) when its
 * old-style hash (or its pending one's) is the tool's: the tool did not change in what the old
 * hash covered, so it is not held. This one sight trusts the title, annotations and other fields
 * the old hash did not cover as they are at the upgrade, as a first sight does; every change
 * after is held. Undefined when there is nothing to upgrade.
 */
export function upgradePin(pin: Pin, tool: GuardTool, hash: string): Pin | undefined {
  if (
    pin.hash_version === HASH_VERSION &&
    (pin.pending === undefined || pin.pending.hash_version === HASH_VERSION)
  )
    return undefined;
  const old = toolHashV1(tool);
  if (pin.hash === old) {
    // back at (or still at) the approved version: what is served is what a person approved
    const { pending: _, ...rest } = pin;
    return { ...rest, hash, hash_version: HASH_VERSION };
  }
  if (pin.pending !== undefined && pin.pending.hash === old)
    return { ...pin, pending: { ...pin.pending, hash, hash_version: HASH_VERSION } };
  return undefined;
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
