/**
 * rug_pull pins as they are kept in Redis (`state.redis`): one hash, `<key_prefix>pins`, one
 * field per (server, tool), the field a sha256 (base64url) of both names, each length-prefixed,
 * so no name, however long or whatever it holds (`:`, CRLF, `*`), can reach another's field or
 * any other key; the value is the pin as JSON, naming its server and tool (checked on every read:
 * a value copied to another field is refused). Changes are announced on the channel
 * `<key_prefix>pins:changed` (this instance's id, then the server's name) so other instances
 * drop what they cached of that server.
 *
 * The two scripts change pins atomically: a first sight pins (two instances seeing a tool at
 * once agree on one pin), a change is recorded as pending without overwriting an approval made
 * meanwhile, and an approval applies only to the pending version that was reviewed.
 *
 * Every value must be one Redis' Lua (cjson) can read as well as JSON.parse: cjson refuses a lone
 * UTF-16 surrogate escape ("\ud800"), which JSON.stringify writes for one, and a value the
 * scripts cannot read is never changed, so a change to its tool would never be recorded as
 * pending (and calls to the changed tool allowed). So the names and descriptions written are
 * well-formed (a lone surrogate becomes U+FFFD, as Redis receives the scripts' arguments anyway),
 * a value holding one is refused as `pins_invalid`, and DECIDE_SCRIPT answers UNREADABLE for a
 * value cjson cannot decode.
 */
import { createHash } from "node:crypto";
import { WardenError } from "../core/errors.js";

/** One tool version as it was seen (the guards layer's PinVersion, structurally). */
export interface StoredVersion {
  hash: string;
  description: string;
  seen_at: string;
  /** 2: the hash covers the whole tool definition but `_meta`; absent: hash version 1. */
  hash_version?: 2;
}

/** The hash version pins are written with (the guards layer's HASH_VERSION). */
export const HASH_VERSION = 2;

/** A pin (the guards layer's Pin, structurally). */
export interface StoredPin extends StoredVersion {
  approved_by?: string;
  pending?: StoredVersion;
}

/** A pin as the hash holds it: the pin and whose it is. */
export interface PinRecord extends StoredPin {
  server: string;
  tool: string;
}

export function pinsKey(prefix: string): string {
  return `${prefix}pins`;
}

export function pinsChannel(prefix: string): string {
  return `${prefix}pins:changed`;
}

/** The field of (server, tool) in the pins hash. */
export function pinField(server: string, tool: string): string {
  const h = createHash("sha256");
  for (const part of [server, tool]) h.update(`${Buffer.byteLength(part)}:${part};`);
  return h.digest("base64url");
}

/** What DECIDE_SCRIPT answers for a value cjson cannot decode (refused as pins_invalid). */
export const UNREADABLE = "\u0000warden:pin-unreadable-by-lua";

/** A lone UTF-16 surrogate (paired ones are one code point under the u flag). */
const LONE_SURROGATE = /\p{Cs}/u;

/** `s` with each lone surrogate replaced by U+FFFD (as UTF-8 encoding does). */
export function wellFormed(s: string): string {
  return LONE_SURROGATE.test(s) ? s.replace(/\p{Cs}/gu, "\ufffd") : s;
}

/** The length of an instance id at the start of a change message. */
export const ORIGIN_LENGTH = 12;

/**
 * KEYS[1] the pins hash; ARGV[1] the channel, ARGV[2] the change message; then per tool six:
 * field, hash, the first-sight record (JSON), description, seen_at, the tool's hash version 1
 * hash (a pin or pending change holding it is upgraded to hash, not taken as a change). Returns
 * each tool's value after the step (a value it cannot read is returned untouched and left alone).
 */
export const DECIDE_SCRIPT = `
local out = {}
local changed = false
for i = 3, #ARGV, 6 do
  local field, hash, old = ARGV[i], ARGV[i + 1], ARGV[i + 5]
  local cur = redis.call('HGET', KEYS[1], field)
  if not cur then
    cur = ARGV[i + 2]
    redis.call('HSET', KEYS[1], field, cur)
    changed = true
  else
    local ok, pin = pcall(cjson.decode, cur)
    if not ok then
      cur = '\\0warden:pin-unreadable-by-lua'
    elseif type(pin) == 'table' and type(pin.hash) == 'string' then
      local up = false
      if pin.hash ~= hash and pin.hash == old then
        pin.hash = hash
        pin.hash_version = 2
        up = true
      elseif type(pin.pending) == 'table' and pin.pending.hash == old then
        pin.pending.hash = hash
        pin.pending.hash_version = 2
        up = true
      end
      if pin.hash == hash then
        if pin.pending ~= nil then
          pin.pending = nil
          up = true
        end
      elseif not (type(pin.pending) == 'table' and pin.pending.hash == hash) then
        pin.pending = { hash = hash, description = ARGV[i + 3], seen_at = ARGV[i + 4], hash_version = 2 }
        up = true
      end
      if up then
        cur = cjson.encode(pin)
        redis.call('HSET', KEYS[1], field, cur)
        changed = true
      end
    end
  end
  out[#out + 1] = cur
end
if changed then redis.call('PUBLISH', ARGV[1], ARGV[2]) end
return out
`;

/**
 * KEYS[1] the pins hash; ARGV[1] the channel, ARGV[2] this client's id, ARGV[3] who approves;
 * then per tool two: field, the pending hash that was reviewed. Returns 1 (approved) or 0 (no
 * such pending change any more) per tool.
 */
export const APPROVE_SCRIPT = `
local out = {}
for i = 4, #ARGV, 2 do
  local done = 0
  local cur = redis.call('HGET', KEYS[1], ARGV[i])
  if cur then
    local ok, pin = pcall(cjson.decode, cur)
    if ok and type(pin) == 'table' and type(pin.pending) == 'table' and pin.pending.hash == ARGV[i + 1] then
      local p = pin.pending
      redis.call('HSET', KEYS[1], ARGV[i], cjson.encode({ server = pin.server, tool = pin.tool,
        hash = p.hash, description = p.description, seen_at = p.seen_at, approved_by = ARGV[3],
        hash_version = p.hash_version }))
      if type(pin.server) == 'string' then redis.call('PUBLISH', ARGV[1], ARGV[2] .. pin.server) end
      done = 1
    end
  end
  out[#out + 1] = done
end
return out
`;

export const DECIDE_SHA = createHash("sha1").update(DECIDE_SCRIPT).digest("hex");
export const APPROVE_SHA = createHash("sha1").update(APPROVE_SCRIPT).digest("hex");

/** The first-sight record of a tool (what DECIDE_SCRIPT writes when it has no pin). */
export function firstSight(
  server: string,
  tool: string,
  hash: string,
  description: string,
  at: string,
): string {
  return JSON.stringify({
    server: wellFormed(server),
    tool: wellFormed(tool),
    hash,
    description: wellFormed(description),
    seen_at: at,
    hash_version: HASH_VERSION,
  });
}

function isVersion(v: unknown): v is StoredVersion {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  const o = v as Record<string, unknown>;
  return (
    typeof o.hash === "string" && typeof o.description === "string" && typeof o.seen_at === "string"
  );
}

/** Does a JSON value hold a lone surrogate in a string or key (too deep counts as yes)? */
function hasLoneSurrogate(v: unknown, depth: number): boolean {
  if (typeof v === "string") return LONE_SURROGATE.test(v);
  if (typeof v !== "object" || v === null) return false;
  if (depth > 16) return true;
  for (const [k, x] of Object.entries(v))
    if (LONE_SURROGATE.test(k) || hasLoneSurrogate(x, depth + 1)) return true;
  return false;
}

/** The `pins_invalid` error of a value in the pins hash no gateway wrote (or one corrupted). */
export function invalidPin(key: string, field: string, why: string, who?: string): WardenError {
  return new WardenError(
    "pins_invalid",
    `The pin${who ?? ""} in Redis (key ${key}, field ${field}) ${why}: another client wrote it. Delete the field (redis-cli HDEL ${key} ${field}) to pin the tool again on its next sight, or restore it; until then the tool is refused (fail closed).`,
    { category: "config", details: { key, field } },
  );
}

/**
 * Read one value of the pins hash. `expect` (server, tool), when given, must be what the value
 * names. Throws `pins_invalid` naming the key and field.
 */
export function parseRecord(
  key: string,
  field: string,
  raw: unknown,
  expect?: { server: string; tool: string },
): PinRecord {
  const who =
    expect === undefined
      ? undefined
      : ` of tool ${JSON.stringify(expect.tool).slice(0, 200)} of server ${JSON.stringify(expect.server).slice(0, 200)}`;
  if (typeof raw !== "string") throw invalidPin(key, field, "is not a string", who);
  if (raw === UNREADABLE) throw invalidPin(key, field, "cannot be read by Redis' Lua (cjson)", who);
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    throw invalidPin(key, field, "is not valid JSON", who);
  }
  const o = v as Record<string, unknown>;
  if (hasLoneSurrogate(v, 0))
    throw invalidPin(
      key,
      field,
      "holds a lone UTF-16 surrogate, which Redis' Lua (cjson) cannot read",
      who,
    );
  if (!isVersion(v) || typeof o.server !== "string" || typeof o.tool !== "string")
    throw invalidPin(
      key,
      field,
      "is not a pin (expected JSON with server, tool, hash, description, seen_at)",
      who,
    );
  if (o.pending !== undefined && !isVersion(o.pending))
    throw invalidPin(key, field, "has a pending change that is not a tool version", who);
  if (o.approved_by !== undefined && typeof o.approved_by !== "string")
    throw invalidPin(key, field, "has an approved_by that is not a string", who);
  if (pinField(o.server, o.tool) !== field)
    throw invalidPin(key, field, "names another server or tool than its field", who);
  // the names as they were written (wellFormed: a lone surrogate is U+FFFD, as in pinField)
  if (
    expect !== undefined &&
    (o.server !== wellFormed(expect.server) || o.tool !== wellFormed(expect.tool))
  )
    throw invalidPin(key, field, "names another server or tool", who);
  const pin: PinRecord = {
    server: o.server,
    tool: o.tool,
    hash: o.hash as string,
    description: o.description as string,
    seen_at: o.seen_at as string,
  };
  if (o.approved_by !== undefined) pin.approved_by = o.approved_by as string;
  if (o.hash_version === HASH_VERSION) pin.hash_version = HASH_VERSION;
  if (o.pending !== undefined) {
    const p = o.pending as StoredVersion;
    pin.pending = { hash: p.hash, description: p.description, seen_at: p.seen_at };
    if (p.hash_version === HASH_VERSION) pin.pending.hash_version = HASH_VERSION;
  }
  return pin;
}

/** A WRONGTYPE answer: the pins key holds something else. */
export function wrongType(key: string, cause: unknown): WardenError {
  return new WardenError(
    "pins_invalid",
    `The Redis key ${key} holds something other than the rug_pull pins (a hash): another client wrote it. Delete it (redis-cli DEL ${key}) or give this gateway another state.redis.key_prefix; until then tools are refused (fail closed).`,
    { category: "config", cause, details: { key } },
  );
}

export function isReplyError(e: unknown): boolean {
  return e instanceof Error && e.name === "ReplyError";
}
