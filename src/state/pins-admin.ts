/**
 * `warden pins list` and `warden pins approve` against the pins in Redis (`state.redis`):
 * the same rows and the same rules as for the pins file (src/guards/builtin/pins.ts); and the
 * admin page's pins view and its Approve (viewRedisPins, approveRedisPin), through the same
 * hash and the same approve script, so every gateway on that Redis hears an approval on the
 * pins channel and honours it on its next tools/list or tools/call.
 */
import { WardenError } from "../core/errors.js";
import {
  APPROVE_SCRIPT,
  APPROVE_SHA,
  isReplyError,
  type PinRecord,
  parseRecord,
  pinField,
  wrongType,
} from "./pin-records.js";
import type { RedisState, StateNeed } from "./redis.js";

/** One row of `warden pins list` (the guards layer's PinRow, structurally). */
export interface PinListRow {
  server: string;
  tool: string;
  hash: string;
  status: "pinned" | "changed";
  pending_hash?: string;
  description?: string;
  pending_description?: string;
}

async function readAll(state: RedisState, key: string, what: string): Promise<PinRecord[]> {
  let all: Record<string, string>;
  try {
    all = await state.client.hgetall(key);
  } catch (e) {
    throw readFailure(state, key, what, e);
  }
  const out: PinRecord[] = [];
  for (const [field, raw] of Object.entries(all)) out.push(parseRecord(key, field, raw));
  out.sort((a, b) => cmp(a.server, b.server) || cmp(a.tool, b.tool));
  return out;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function rowOf(p: PinRecord): PinListRow {
  const row: PinListRow = {
    server: p.server,
    tool: p.tool,
    hash: p.hash,
    status: p.pending ? "changed" : "pinned",
  };
  if (p.pending) {
    row.pending_hash = p.pending.hash;
    row.description = p.description;
    row.pending_description = p.pending.description;
  }
  return row;
}

/** Every pin in Redis, by server and tool. Throws `state_unavailable` or `pins_invalid`. */
export async function listRedisPins(state: RedisState, key: string): Promise<PinListRow[]> {
  return (await readAll(state, key, "`warden pins list`")).map(rowOf);
}

/**
 * Approve pending changes in Redis, as approvePins does in a file: of `tool` of `server`, of
 * every tool of `server`, or (both undefined) all. Each approval is atomic and applies only to
 * the pending version read (one that changed again meanwhile is left pending). Returns what
 * was approved; `pin_not_found` when nothing was.
 */
export async function approveRedisPins(
  state: RedisState,
  key: string,
  channel: string,
  origin: string,
  server?: string,
  tool?: string,
  by = "cli",
): Promise<PinListRow[]> {
  const what = "`warden pins approve`";
  const pending = (await readAll(state, key, what)).filter(
    (p) =>
      p.pending !== undefined &&
      (server === undefined || p.server === server) &&
      (tool === undefined || p.tool === tool),
  );
  const approved: PinListRow[] = [];
  if (pending.length > 0) {
    const args: string[] = [channel, origin, by];
    for (const p of pending) args.push(pinField(p.server, p.tool), p.pending!.hash);
    let answer: unknown;
    try {
      answer = await state.client
        .evalsha(APPROVE_SHA, 1, key, ...args)
        .catch((e: Error) =>
          isReplyError(e) && e.message.startsWith("NOSCRIPT")
            ? state.client.eval(APPROVE_SCRIPT, 1, key, ...args)
            : Promise.reject(e),
        );
    } catch (e) {
      if (isReplyError(e) && /WRONGTYPE/.test((e as Error).message)) throw wrongType(key, e);
      throw state.unavailable(what, e);
    }
    if (!Array.isArray(answer) || answer.length !== pending.length)
      throw state.unavailable(what, new Error("Redis answered the approve script unexpectedly"));
    pending.forEach((p, i) => {
      if (answer[i] === 1)
        approved.push({ server: p.server, tool: p.tool, hash: p.pending!.hash, status: "pinned" });
    });
  }
  if (approved.length === 0)
    throw new WardenError(
      "pin_not_found",
      `No pending change${tool ? ` for tool "${tool}"` : ""}${server ? ` of server "${server}"` : ""} in Redis (key ${key}). Run \`warden pins list\` to see what is pending.`,
      { category: "usage", details: { key, server, tool } },
    );
  return approved;
}

/** A failed read of the pins hash: `pins_invalid` for a key of another type, else Redis down. */
function readFailure(
  state: RedisState,
  key: string,
  what: string,
  e: unknown,
  need?: StateNeed,
): WardenError {
  if (isReplyError(e) && /WRONGTYPE/.test((e as Error).message)) return wrongType(key, e);
  return state.unavailable(what, e, need);
}

/** One pin as the admin page shows it (the gateway views' ToolPin, kept in Redis). */
export interface RedisPinView {
  readonly upstream: string;
  readonly tool: string;
  /** The version approved (`sha256:<hex>`). */
  readonly hash: string;
  readonly description: string;
  /** When that version was first seen (ISO time). */
  readonly pinnedAt: string;
  readonly approvedBy: string | null;
  /** A changed version seen since, waiting for approval (calls to the tool are refused). */
  readonly pending: {
    readonly hash: string;
    readonly description: string;
    readonly seenAt: string;
  } | null;
  /** Where it is kept: the Redis key (the pins hash) and the pin's field in it. */
  readonly key: string;
  readonly field: string;
}

/** A value of the pins hash that is not a pin (planted, or corrupted): named, never fatal. */
export interface RedisPinProblem {
  readonly code: "pins_invalid";
  readonly key: string;
  readonly field: string;
  readonly message: string;
}

/** Pins the admin page lists at most (HSCAN stops there; `truncated` says so). */
export const MAX_LISTED_PINS = 10_000;

function viewOf(key: string, field: string, p: PinRecord): RedisPinView {
  return {
    upstream: p.server,
    tool: p.tool,
    hash: p.hash,
    description: p.description,
    pinnedAt: p.seen_at,
    approvedBy: p.approved_by ?? null,
    pending:
      p.pending === undefined
        ? null
        : { hash: p.pending.hash, description: p.pending.description, seenAt: p.pending.seen_at },
    key,
    field,
  };
}

function problemOf(key: string, field: string, e: unknown): RedisPinProblem {
  const message =
    e instanceof WardenError
      ? e.message
      : `The pin in Redis (key ${key}, field ${field}) cannot be read`;
  return { code: "pins_invalid", key, field, message };
}

/**
 * The pins in Redis for the admin page: every pin (at most MAX_LISTED_PINS, `truncated` past
 * it), by upstream and tool, and each value that is not a pin as a problem naming the key and
 * field (the others are still listed). Throws `state_unavailable` (Redis down, counted as
 * need `pins`: fail closed, never the pins files) or `pins_invalid` (the key holds another type).
 */
export async function viewRedisPins(
  state: RedisState,
  key: string,
  what = "the admin API's pins list",
): Promise<{ pins: RedisPinView[]; problems: RedisPinProblem[]; truncated: boolean }> {
  const raw = new Map<string, string>();
  let truncated = false;
  try {
    let cursor = "0";
    do {
      const [next, flat] = await state.client.hscan(key, cursor, "COUNT", 1000);
      for (let i = 0; i + 1 < flat.length; i += 2) raw.set(flat[i]!, flat[i + 1]!);
      cursor = next;
      if (raw.size >= MAX_LISTED_PINS) {
        truncated = cursor !== "0" || raw.size > MAX_LISTED_PINS;
        break;
      }
    } while (cursor !== "0");
  } catch (e) {
    throw readFailure(state, key, what, e, "pins");
  }
  const pins: RedisPinView[] = [];
  const problems: RedisPinProblem[] = [];
  for (const [field, value] of raw) {
    if (pins.length + problems.length >= MAX_LISTED_PINS) break;
    try {
      pins.push(viewOf(key, field, parseRecord(key, field, value)));
    } catch (e) {
      problems.push(problemOf(key, field, e));
    }
  }
  pins.sort((a, b) => cmp(a.upstream, b.upstream) || cmp(a.tool, b.tool));
  problems.sort((a, b) => cmp(a.field, b.field));
  return { pins, problems, truncated };
}

/**
 * Approve, in Redis, the pending change of `tool` of `server` at the version `hash` (the one a
 * person reviewed: a newer change is not approved unseen), with the approve script of `warden
 * pins approve`: atomic, announced on the pins channel so every gateway drops what it cached of
 * that server. Returns the pin now (approving twice answers the same). Throws `pin_not_found`
 * (no such pending change), `pins_invalid` (the value there is not a pin, naming the key and
 * field) or `state_unavailable` (Redis down: nothing approved, counted as need `pins`).
 */
export async function approveRedisPin(
  state: RedisState,
  key: string,
  channel: string,
  origin: string,
  server: string,
  tool: string,
  hash: string,
  by: string,
  what = "an approval over the admin API",
): Promise<RedisPinView> {
  const field = pinField(server, tool);
  const read = async (): Promise<PinRecord | null> => {
    let raw: string | null;
    try {
      raw = await state.client.hget(key, field);
    } catch (e) {
      throw readFailure(state, key, what, e, "pins");
    }
    if (raw === null) return null;
    return parseRecord(key, field, raw, { server, tool });
  };
  const notFound = () =>
    new WardenError(
      "pin_not_found",
      `No pending change ${hash} for tool "${tool}" of upstream "${server}" in Redis (key ${key}). It may have been approved already or changed again: list the pins again.`,
      { category: "usage", details: { key, upstream: server, tool, hash } },
    );
  const before = await read();
  if (before === null) throw notFound();
  if (before.pending?.hash !== hash) {
    if (before.pending === undefined && before.hash === hash) return viewOf(key, field, before);
    throw notFound();
  }
  const args = [channel, origin, by, field, hash];
  let answer: unknown;
  try {
    answer = await state.client
      .evalsha(APPROVE_SHA, 1, key, ...args)
      .catch((e: Error) =>
        isReplyError(e) && e.message.startsWith("NOSCRIPT")
          ? state.client.eval(APPROVE_SCRIPT, 1, key, ...args)
          : Promise.reject(e),
      );
  } catch (e) {
    throw readFailure(state, key, what, e, "pins");
  }
  if (!Array.isArray(answer) || answer.length !== 1)
    throw state.unavailable(
      what,
      new Error("Redis answered the approve script unexpectedly"),
      "pins",
    );
  const after = await read();
  // 0: changed again (or approved by someone else) between the read and the script
  if (after === null || after.pending !== undefined || after.hash !== hash) throw notFound();
  return viewOf(key, field, after);
}
