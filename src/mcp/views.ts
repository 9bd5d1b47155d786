/**
 * Read-only views of a running gateway (`Gateway.views()`): what rug_pull pinned, each upstream's
 * health, readiness, and the recent audit lines. They are what a layer above (the admin API, a
 * status page) is handed, so that it reads the gateway without importing it or reaching into it:
 * every value returned is a fresh, deeply frozen copy, and nothing a caller does with one
 * changes the gateway or the next view.
 */

import { randomBytes } from "node:crypto";
import type { RecentLines } from "../audit/recent.js";
import type { AuditPhase, AuditRecord } from "../audit/record.js";
import { WardenError } from "../core/errors.js";
import { compileNameGlob } from "../core/glob.js";
import { approvePins, readPins } from "../guards/builtin/pins.js";
import { pinsFileOf } from "../guards/builtin/rug-pull.js";
import {
  approveRedisPin,
  pinsChannel,
  type RedisPins,
  type RedisPinView,
  viewRedisPins,
} from "../state/index.js";
import type { GatewayConfig } from "./config-types.js";
import type { SharedUpstream } from "./shared-upstream.js";
import type {
  NotReady,
  UpstreamHealth,
  UpstreamHealthBook,
  UpstreamState,
} from "./upstream-health.js";

export type { NotReady, UpstreamHealth, UpstreamState };

/** A tool rug_pull pinned: the version approved, and the change waiting for a person, if any. */
export interface ToolPin {
  /** The upstream (the `upstreams[].name` rug_pull judged it under). */
  readonly upstream: string;
  /** The tool's own name on that upstream (not prefixed). */
  readonly tool: string;
  /** sha256 of its definition (`sha256:<hex>`). */
  readonly hash: string;
  /** When that version was first seen (ISO time). */
  readonly pinnedAt: string;
  /** Who approved it with `warden pins approve`, if it was a change approved. */
  readonly approvedBy: string | null;
  /**
   * A changed version seen since, waiting for approval (calls to the tool are denied); with
   * `state.redis` its description too.
   */
  readonly pending: {
    readonly hash: string;
    readonly seenAt: string;
    readonly description?: string;
  } | null;
  /** The pins file it is kept in (the files store). */
  readonly file?: string;
  /** With `state.redis`: the approved version's description, the pins hash and the pin's field. */
  readonly description?: string;
  readonly key?: string;
  readonly field?: string;
}

/** A value of the pins store that is not a pin (planted, or corrupted), naming where it is. */
export interface PinProblem {
  readonly code: "pins_invalid";
  readonly key: string;
  readonly field: string;
  readonly message: string;
}

/**
 * rug_pull's pins where its guards keep them: `files` (the pins files of the config's rug_pull
 * guards) or `redis` (with `state.redis`, the hash `key` every instance on that Redis shares).
 */
export interface PinsView {
  readonly store: "files" | "redis";
  /** The Redis key of the pins hash (the redis store). */
  readonly key?: string;
  readonly pins: readonly ToolPin[];
  /** Values of the store that are not pins: the guard refuses those tools (pins_invalid). */
  readonly problems: readonly PinProblem[];
  /** More pins than the view lists (the redis store lists at most MAX_LISTED_PINS). */
  readonly truncated: boolean;
}

/** Which recent audit lines to return (every given condition must hold). */
export interface DecisionFilter {
  /** The line's `decision`. */
  readonly decision?: "allow" | "deny";
  /** tools/call lines whose tool (the name the client called) matches this name glob. */
  readonly tool?: string;
  /** The line's `caller`. */
  readonly caller?: string;
  /** The line's `phase` (decision, outcome or event). */
  readonly phase?: AuditPhase;
  /** At most this many (newest first). */
  readonly limit?: number;
}

/** Whether the gateway can serve its upstreams now (what /readyz answers). */
export interface Readiness {
  readonly ready: boolean;
  /** Each upstream not ready, with its state and why (no error text: names and states only). */
  readonly notReady: readonly NotReady[];
}

export interface GatewayViews {
  /**
   * The pins of the config's enabled rug_pull guards, read now from the store the guards judge
   * with: Redis with `state.redis` (shared by every instance; Redis down throws
   * state_unavailable, never the files), else their pins files.
   */
  pins(): Promise<PinsView>;
  /** Each configured upstream's health now, in config order. */
  upstreams(): readonly UpstreamHealth[];
  /** Ready when every shared upstream is up and every per-session command can be started. */
  readiness(): Readiness;
  /**
   * The last audit lines the gateway wrote (decision, outcome and event lines; at most the ring's
   * capacity, 256 by default), newest first. Empty without an `audit` section: they are the
   * audit's lines.
   */
  decisions(filter?: DecisionFilter): readonly AuditRecord[];
  /** Hear each audit line as it is written (a frozen copy); returns a function to stop. */
  onDecision(fn: (rec: AuditRecord) => void): () => void;
  /**
   * Approve the change rug_pull holds for `tool` of `upstream`, as `warden pins approve` does,
   * but only the version `hash` names (the one the person reviewed: a newer change is not
   * approved unseen), in the store the guards judge with. With `state.redis`: in Redis, with the
   * approve script of `warden pins approve`, announced to every instance on it (each honours it
   * on its next tools/list or tools/call); Redis down throws state_unavailable and approves
   * nothing. Else: written to every pins file of the config holding that change; the guard reads
   * it within its refresh interval (500 ms). Returns the pins now at `hash` (approving twice
   * answers the same); throws pin_not_found when the store holds no such pending change. The
   * caller writes the audit line (the admin API writes `pin_approval`): it knows who approved.
   */
  approvePin(upstream: string, tool: string, hash: string, by: string): Promise<readonly ToolPin[]>;
}

/** What the views read: the gateway's own state, through getters (reloads are seen at once). */
export interface ViewSource {
  config(): GatewayConfig;
  readonly shared: ReadonlyMap<string, SharedUpstream>;
  readonly health: UpstreamHealthBook;
  readonly recent: RecentLines;
  /** state.redis: the pins rug_pull's guards judge with, when they are Redis's. */
  redisPins(): RedisPins | undefined;
}

function deepFreeze<T>(v: T): T {
  if (v !== null && typeof v === "object" && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const k of Object.keys(v)) deepFreeze((v as Record<string, unknown>)[k]);
  }
  return v;
}

function pinsFiles(config: GatewayConfig): Set<string> {
  const files = new Set<string>();
  for (const g of config.guards ?? [])
    if (g.enabled && g.type === "rug_pull") files.add(pinsFileOf(g));
  return files;
}

function approvePin(
  config: GatewayConfig,
  upstream: string,
  tool: string,
  hash: string,
  by: string,
): ToolPin[] {
  for (const file of pinsFiles(config))
    if (readPins(file).servers[upstream]?.[tool]?.pending?.hash === hash)
      approvePins(file, upstream, tool, by);
  const approved = pinsOf(config).filter(
    (p) => p.upstream === upstream && p.tool === tool && p.hash === hash && p.pending === null,
  );
  if (approved.length === 0)
    throw new WardenError(
      "pin_not_found",
      `No pending change ${hash} for tool "${tool}" of upstream "${upstream}" in the rug_pull pins files (${[...pinsFiles(config)].join(", ") || "none configured"}). It may have been approved already or changed again: list the pins again.`,
      { category: "usage", details: { upstream, tool, hash } },
    );
  return approved;
}

function pinsOf(config: GatewayConfig): ToolPin[] {
  const files = pinsFiles(config);
  const out: ToolPin[] = [];
  for (const file of files) {
    const pins = readPins(file);
    for (const [upstream, tools] of Object.entries(pins.servers))
      for (const [tool, pin] of Object.entries(tools))
        out.push({
          upstream,
          tool,
          hash: pin.hash,
          pinnedAt: pin.seen_at,
          approvedBy: pin.approved_by ?? null,
          pending:
            pin.pending === undefined
              ? null
              : { hash: pin.pending.hash, seenAt: pin.pending.seen_at },
          file,
        });
  }
  return out;
}

function redisPinOf(p: RedisPinView): ToolPin {
  return {
    upstream: p.upstream,
    tool: p.tool,
    hash: p.hash,
    description: p.description,
    pinnedAt: p.pinnedAt,
    approvedBy: p.approvedBy,
    pending: p.pending,
    key: p.key,
    field: p.field,
  };
}

async function redisView(pins: RedisPins): Promise<PinsView> {
  const v = await viewRedisPins(pins.state, pins.key, "the gateway views' pins");
  return {
    store: "redis",
    key: pins.key,
    pins: v.pins.map(redisPinOf),
    problems: v.problems,
    truncated: v.truncated,
  };
}

/**
 * Approve in Redis. The origin on the pins channel is this view's own, not the guard's: the
 * approving instance's guard must hear the change too (it ignores its own announcements).
 */
async function approveRedis(
  pins: RedisPins,
  origin: string,
  upstream: string,
  tool: string,
  hash: string,
  by: string,
): Promise<ToolPin[]> {
  const v = await approveRedisPin(
    pins.state,
    pins.key,
    pinsChannel(pins.state.keyPrefix),
    origin,
    upstream,
    tool,
    hash,
    by,
    "an approval through the gateway views",
  );
  return [redisPinOf(v)];
}

function matcher(f: DecisionFilter): (r: AuditRecord) => boolean {
  const tool = f.tool === undefined ? undefined : compileNameGlob(f.tool);
  return (r) =>
    (f.decision === undefined || r.decision === f.decision) &&
    (f.caller === undefined || r.caller === f.caller) &&
    (f.phase === undefined || r.phase === f.phase) &&
    (tool === undefined || (r.method === "tools/call" && r.name !== undefined && tool(r.name)));
}

export function gatewayViews(src: ViewSource): GatewayViews {
  const upstreams = () => Object.freeze(src.health.read(src.config().upstreams, src.shared));
  const origin = randomBytes(9).toString("base64url");
  return Object.freeze({
    async pins(): Promise<PinsView> {
      const redis = src.redisPins();
      if (redis !== undefined) return deepFreeze(await redisView(redis));
      return deepFreeze({
        store: "files",
        pins: pinsOf(src.config()),
        problems: [],
        truncated: false,
      });
    },
    upstreams,
    readiness(): Readiness {
      const notReady = src.health.notReady(upstreams(), src.config().upstreams);
      return deepFreeze({ ready: notReady.length === 0, notReady });
    },
    decisions(filter: DecisionFilter = {}): readonly AuditRecord[] {
      const limit = filter.limit ?? Number.POSITIVE_INFINITY;
      const keep = matcher(filter);
      const out: AuditRecord[] = [];
      if (limit <= 0) return Object.freeze(out);
      for (const r of src.recent.newest()) {
        if (!keep(r)) continue;
        out.push(deepFreeze(r));
        if (out.length >= limit) break;
      }
      return Object.freeze(out);
    },
    onDecision: (fn: (rec: AuditRecord) => void) => src.recent.listen((r) => fn(deepFreeze(r))),
    async approvePin(upstream: string, tool: string, hash: string, by: string) {
      const redis = src.redisPins();
      if (redis !== undefined)
        return deepFreeze(await approveRedis(redis, origin, upstream, tool, hash, by));
      return deepFreeze(approvePin(src.config(), upstream, tool, hash, by));
    },
  });
}
