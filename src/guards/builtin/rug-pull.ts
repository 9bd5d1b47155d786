import { resolve } from "node:path";
import type { ConfigChecker, GuardSpec } from "../config-types.js";
import { GUARD_ALLOW, guardDeny } from "../decision.js";
import type { Guard, GuardDecision, GuardTool, InvocationInfo } from "../types.js";
import { checkEnum, checkKeys, checkString, LIST_ACTIONS, type ListAction } from "./check.js";
import { type Flagged, listVerdict } from "./list-verdict.js";
import { PinStore, toolHash } from "./pins.js";

/**
 * rug_pull: pins each tool's name, description and schema hash on first sight; a later change
 * hides (or blocks, or warns about) the tool until a person approves the new version with
 * `warden pins approve`. Calls to a tool with an unapproved change are denied.
 */
const KEYS = ["action", "pins_file"];

export const checkRugPullConfig: ConfigChecker = (cfg, report) => {
  checkKeys(cfg, KEYS, report);
  checkEnum(cfg, "action", LIST_ACTIONS, report);
  checkString(cfg, "pins_file", report);
};

/** Where the pins live: `config.pins_file`, relative to warden.yaml's folder. */
export function pinsFileOf(spec: GuardSpec): string {
  const f = (spec.config.pins_file as string | undefined) ?? ".warden/pins.json";
  return resolve(spec.source.file, "..", f);
}

export function createRugPull(spec: GuardSpec, now: () => number = Date.now): Guard {
  const action = (spec.config.action as ListAction | undefined) ?? "hide";
  const store = new PinStore(pinsFileOf(spec));
  // Hashes already checked, per server and tool: a listing that did not change costs no hashing
  // beyond one string comparison per tool.
  const seen = new Map<string, { key: string; hash: string }>();
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
      const at = new Date(t).toISOString();
      for (let i = 0; i < tools.length; i++) {
        const tool = tools[i]!;
        const k = `${ctx.serverName}\u0000${tool.name}`;
        const cacheKey = `${tool.description ?? ""}\u0000${tool.inputSchema === undefined ? "" : JSON.stringify(tool.inputSchema)}`;
        const cached = seen.get(k);
        const hash = cached !== undefined && cached.key === cacheKey ? cached.hash : toolHash(tool);
        if (cached === undefined || cached.key !== cacheKey) seen.set(k, { key: cacheKey, hash });
        const pin = store.get(ctx.serverName, tool.name);
        if (pin === undefined) {
          store.set(ctx.serverName, tool.name, {
            hash,
            description: tool.description ?? "",
            seen_at: at,
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
            pending: { hash, description: tool.description ?? "", seen_at: at },
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
