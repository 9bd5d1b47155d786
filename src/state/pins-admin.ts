/**
 * `warden pins list` and `warden pins approve` against the pins in Redis (`state.redis`):
 * the same rows and the same rules as for the pins file (src/guards/builtin/pins.ts).
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
import type { RedisState } from "./redis.js";

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
    if (isReplyError(e) && /^WRONGTYPE/.test((e as Error).message)) throw wrongType(key, e);
    throw state.unavailable(what, e);
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
