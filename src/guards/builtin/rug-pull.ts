import { join, resolve } from "node:path";
import { defaultStateDir, STATE_FILES } from "../../core/state-dir.js";
import type { GuardSpec } from "../config-types.js";
import { GUARD_ALLOW, guardDeny } from "../decision.js";
import type { Guard, GuardDecision, GuardTool, InvocationInfo } from "../types.js";
import type { ListAction } from "./check.js";
import { type Flagged, listVerdict } from "./list-verdict.js";
import type { SharedPins } from "./pin-store.js";
import { definition, HASH_VERSION, type Pin, PinStore, toolHash, upgradePin } from "./pins.js";
import { createSharedRugPull } from "./rug-pull-shared.js";
import { UnlistedTools } from "./unlisted.js";

/**
 * rug_pull: pins a hash of each tool's definition (all of it but `_meta`: pins.ts toolHash) on
 * first sight; a later change
 * hides (or blocks, or warns about) the tool until a person approves the new version with
 * `warden pins approve`. Calls to a tool with an unapproved change are denied.
 */
const _KEYS = ["action", "pins_file"];

/**
 * Where the pins live: `<state.dir>/pins.json` (state.dir of warden.yaml, default the XDG state
 * directory: core's `defaultStateDir`), or the deprecated `config.pins_file`, relative to
 * warden.yaml's folder.
 */
export function pinsFileOf(spec: GuardSpec): string {
  const f = spec.config.pins_file as string | undefined;
  if (f !== undefined) return resolve(spec.source.file, "..", f);
  return join(spec.stateDir ?? defaultStateDir(), STATE_FILES.pins);
}

/**
 * A rug_pull guard: pins in `pins` (state.redis, shared by every instance: rug-pull-shared.ts)
 * when given, else in the pins file of the state directory.
 */
export function createRugPull(
  spec: GuardSpec,
  now: () => number = Date.now,
  pins?: SharedPins,
): Guard {
  const action = (spec.config.action as ListAction | undefined) ?? "hide";
  if (pins !== undefined) return createSharedRugPull(spec, action, pins, new ToolHashes(), now);
  const store = new PinStore(pinsFileOf(spec));
  const hashes = new ToolHashes();
  const unlisted = new UnlistedTools();
  const guard: Guard = {
    id: spec.id,
    type: "rug_pull",
    prepare(phase, payload, ctx): Promise<void> | undefined {
      // a call to a tool no listing showed: list the upstream now and pin what it lists
      if (phase !== "tool_invoke") return undefined;
      store.refresh(now());
      if (store.get(ctx.serverName, (payload as InvocationInfo).name) !== undefined)
        return undefined;
      return unlisted.fetch(ctx, (tools) => {
        try {
          guard.evaluate("tools_list", tools as GuardTool[], ctx);
        } catch {
          // the pins file cannot be written: the tool stays unpinned, and the call refused
        }
      });
    },
    evaluate(phase, payload, ctx): GuardDecision {
      const t = now();
      store.refresh(t);
      if (phase === "tool_invoke") {
        const inv = payload as InvocationInfo;
        const pin = store.get(ctx.serverName, inv.name);
        if (pin === undefined) return unlisted.refuse(ctx.serverName, inv.name);
        if (pin.pending === undefined) return GUARD_ALLOW;
        return changedCall(ctx.serverName, inv.name, pin);
      }
      if (phase !== "tools_list") return GUARD_ALLOW;
      const tools = payload as GuardTool[];
      let flagged: Flagged[] | undefined;
      let dirty = false;
      let at: string | undefined;
      const known = hashes.server(ctx.serverName);
      for (let i = 0; i < tools.length; i++) {
        const tool = tools[i]!;
        const hash = hashes.of(known, tool);
        let pin = store.get(ctx.serverName, tool.name);
        if (pin === undefined) {
          store.set(ctx.serverName, tool.name, {
            hash,
            description: tool.description ?? "",
            seen_at: (at ??= new Date(t).toISOString()),
            hash_version: HASH_VERSION,
          });
          dirty = true;
          continue;
        }
        const up = pin.hash === hash ? undefined : upgradePin(pin, tool, hash);
        if (up !== undefined) {
          // a pin written before hash version 2 whose old hash still matches (pins.ts upgradePin)
          store.set(ctx.serverName, tool.name, (pin = up));
          dirty = true;
        }
        if (pin.hash === hash) {
          if (pin.pending !== undefined) {
            // Back to the approved version: what is served is what a person approved.
            const { pending: _, ...rest } = pin;
            store.set(ctx.serverName, tool.name, rest);
            dirty = true;
          }
          continue;
        }
        if (pin.pending?.hash !== hash) {
          store.set(ctx.serverName, tool.name, {
            ...pin,
            pending: {
              hash,
              description: tool.description ?? "",
              seen_at: (at ??= new Date(t).toISOString()),
              hash_version: HASH_VERSION,
            },
          });
          dirty = true;
        }
        (flagged ??= []).push(changedTool(i, tool.name, ctx.serverName, pin.hash, hash));
      }
      if (dirty) store.save();
      if (flagged === undefined) return GUARD_ALLOW;
      return listVerdict(action, tools, flagged, "tool_changed", "Rug pull", ctx.serverName);
    },
  };
  return guard;
}

/** A listed tool whose version differs from its pin (or from the pending one). */
export function changedTool(
  index: number,
  name: string,
  server: string,
  pinned: string,
  now: string,
): Flagged {
  return {
    index,
    name,
    reasons: [
      `changed since it was approved (pinned ${pinned.slice(0, 19)}, now ${now.slice(0, 19)}); approve with \`warden pins approve ${server} ${name}\``,
    ],
  };
}

/** The denial of a call to a tool with a pending change. */
export function changedCall(server: string, tool: string, pin: Pin): GuardDecision {
  return guardDeny(
    "tool_changed",
    `Tool "${tool}" of server "${server}" changed since it was approved; run \`warden pins approve ${server} ${tool}\` after reviewing it (\`warden pins list\`).`,
    { server, tool, pinned: pin.hash, seen: pin.pending?.hash },
  );
}

/**
 * Hashes already computed, per server and tool, with the version they were computed from: a
 * listing that did not change costs one walk comparing each schema with that copy (no
 * serialising, no hashing, no allocation).
 */
export class ToolHashes {
  readonly #seen = new Map<string, Map<string, Seen>>();

  server(name: string): Map<string, Seen> {
    let known = this.#seen.get(name);
    if (known === undefined) this.#seen.set(name, (known = new Map()));
    return known;
  }

  of(known: Map<string, Seen>, tool: GuardTool): string {
    const cached = known.get(tool.name);
    if (cached !== undefined && sameTool(cached.tool, tool)) return cached.hash;
    const hash = toolHash(tool);
    known.set(tool.name, { tool: snapshot(definition(tool)) as Record<string, unknown>, hash });
    return hash;
  }
}

/** What rug_pull last hashed for a tool: the version (a private copy) and its hash. */
export interface Seen {
  /** The hashed fields (pins.ts definition), copied. */
  tool: Record<string, unknown>;
  hash: string;
}

/** Is `tool` the version `seen` was copied from (every field but `_meta`, key order aside)? */
function sameTool(seen: Record<string, unknown>, tool: GuardTool): boolean {
  let n = 0;
  for (const k in tool) {
    if (k === "_meta" || tool[k] === undefined) continue;
    n++;
    if (!Object.hasOwn(seen, k) || !sameJson(seen[k], tool[k], 1)) return false;
  }
  for (const _ in seen) n--;
  return n === 0;
}

/** A private copy of a JSON value (a listing's objects are not ours to keep). */
function snapshot(v: unknown): unknown {
  return v === undefined ? undefined : JSON.parse(JSON.stringify(v));
}

/**
 * Deep equality of two JSON values, key order aside (as the hash sorts keys). A value too deep
 * to compare counts as changed (it is hashed again, which gives the right answer anyway).
 */
export function sameJson(a: unknown, b: unknown, depth: number): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (depth > 64) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameJson(a[i], b[i], depth + 1)) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  let n = 0;
  for (const k in x) {
    n++;
    if (!Object.hasOwn(y, k) || !sameJson(x[k], y[k], depth + 1)) return false;
  }
  for (const _ in y) n--;
  return n === 0;
}
