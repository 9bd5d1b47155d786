import { join, resolve } from "node:path";
import { defaultStateDir, STATE_FILES } from "../../core/state-dir.js";
import type { GuardSpec } from "../config-types.js";
import { GUARD_ALLOW, guardDeny } from "../decision.js";
import type { Guard, GuardDecision, GuardTool, InvocationInfo } from "../types.js";
import type { ListAction } from "./check.js";
import { type Flagged, listVerdict } from "./list-verdict.js";
import { PinStore, toolHash } from "./pins.js";

/**
 * rug_pull: pins each tool's name, description and schema hash on first sight; a later change
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

export function createRugPull(spec: GuardSpec, now: () => number = Date.now): Guard {
  const action = (spec.config.action as ListAction | undefined) ?? "hide";
  const store = new PinStore(pinsFileOf(spec));
  // Hashes already checked, per server and tool, with the version they were computed from: a
  // listing that did not change costs one walk comparing each schema with that copy (no
  // serialising, no hashing, no allocation).
  const seen = new Map<string, Map<string, Seen>>();
  return {
    id: spec.id,
    type: "rug_pull",
    evaluate(phase, payload, ctx): GuardDecision {
      const t = now();
      store.refresh(t);
      if (phase === "tool_invoke") {
        const inv = payload as InvocationInfo;
        const pin = store.get(ctx.serverName, inv.name);
        if (pin?.pending === undefined) return GUARD_ALLOW;
        return guardDeny(
          "tool_changed",
          `Tool "${inv.name}" of server "${ctx.serverName}" changed since it was approved; run \`warden pins approve ${ctx.serverName} ${inv.name}\` after reviewing it (\`warden pins list\`).`,
          { server: ctx.serverName, tool: inv.name, pinned: pin.hash, seen: pin.pending.hash },
        );
      }
      if (phase !== "tools_list") return GUARD_ALLOW;
      const tools = payload as GuardTool[];
      let flagged: Flagged[] | undefined;
      let dirty = false;
      let at: string | undefined;
      let known = seen.get(ctx.serverName);
      if (known === undefined) seen.set(ctx.serverName, (known = new Map()));
      for (let i = 0; i < tools.length; i++) {
        const tool = tools[i]!;
        const cached = known.get(tool.name);
        let hash: string;
        if (
          cached !== undefined &&
          cached.description === tool.description &&
          sameJson(cached.schema, tool.inputSchema, 0)
        )
          hash = cached.hash;
        else {
          hash = toolHash(tool);
          known.set(tool.name, {
            description: tool.description,
            schema: snapshot(tool.inputSchema),
            hash,
          });
        }
        const pin = store.get(ctx.serverName, tool.name);
        if (pin === undefined) {
          store.set(ctx.serverName, tool.name, {
            hash,
            description: tool.description ?? "",
            seen_at: (at ??= new Date(t).toISOString()),
          });
          dirty = true;
          continue;
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
            },
          });
          dirty = true;
        }
        (flagged ??= []).push({
          index: i,
          name: tool.name,
          reasons: [
            `changed since it was approved (pinned ${pin.hash.slice(0, 19)}, now ${hash.slice(0, 19)}); approve with \`warden pins approve ${ctx.serverName} ${tool.name}\``,
          ],
        });
      }
      if (dirty) store.save();
      if (flagged === undefined) return GUARD_ALLOW;
      return listVerdict(action, tools, flagged, "tool_changed", "Rug pull", ctx.serverName);
    },
  };
}

/** What rug_pull last hashed for a tool: the version (a private copy) and its hash. */
interface Seen {
  description: string | undefined;
  schema: unknown;
  hash: string;
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
