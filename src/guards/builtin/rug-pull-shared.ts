/**
 * rug_pull with its pins shared by every gateway instance (`state.redis`; docs/gateway.md,
 * "Shared state in Redis"). It judges as the file-backed guard does, from the pins cached in
 * this process (`SharedPins.cached`); its `prepare` asks the shared store only what the cache
 * cannot answer:
 *
 * - tools_list: every tool whose version is not exactly its cached, approved pin (first sight, a
 *   change, a change held), or whose cached pin is stale (another instance changed the server's
 *   pins), is decided by the store in one atomic step. A listing of approved versions costs no
 *   round trip. So an approval made anywhere is honoured on the next listing: a held tool is
 *   always asked about.
 * - tool_invoke: a tool the cache does not know, holds as changed, or holds stale is read again
 *   (an approval is honoured on the next call); a tool cached as approved is not.
 * - Judging uses what was read last, so an announcement arriving between the fetch and the
 *   judgement changes nothing; a stale approved version that cannot be asked about (Redis down)
 *   is still served in a listing (it is a version a person approved).
 *
 * Fail closed: a tool whose pin could not be read or written (Redis down, a key of the wrong
 * type, a pin another client corrupted) is never taken as first seen; it is treated as a changed
 * tool (hidden, or the listing refused, as `action` says; calls refused) with the store's error,
 * which names Redis (code `state_unavailable`, or `pins_invalid` naming the key).
 */
import { isWardenError } from "../../core/errors.js";
import type { GuardSpec } from "../config-types.js";
import { GUARD_ALLOW, guardDeny } from "../decision.js";
import type { Guard, GuardDecision, GuardTool, InvocationInfo } from "../types.js";
import type { ListAction } from "./check.js";
import { type Flagged, listVerdict } from "./list-verdict.js";
import type { SeenTool, SharedPins } from "./pin-store.js";
import { toolHashV1 } from "./pins.js";
import { changedCall, changedTool, type ToolHashes } from "./rug-pull.js";
import { UnlistedTools } from "./unlisted.js";

const UNAVAILABLE = "state_unavailable";

export function createSharedRugPull(
  spec: GuardSpec,
  action: ListAction,
  pins: SharedPins,
  hashes: ToolHashes,
  now: () => number,
): Guard {
  const unlisted = new UnlistedTools();
  const seen = (server: string, tools: readonly GuardTool[]): SeenTool[] => {
    const known = hashes.server(server);
    return tools.map((tool) => ({
      name: tool.name,
      hash: hashes.of(known, tool),
      description: tool.description ?? "",
      oldHash: toolHashV1(tool),
    }));
  };
  return {
    id: spec.id,
    type: "rug_pull",
    prepare(phase, payload, ctx): Promise<void> | undefined {
      const server = ctx.serverName;
      if (phase === "tool_invoke") {
        const name = (payload as InvocationInfo).name;
        const pin = pins.cached(server, name);
        const known = pin != null && pin.pending === undefined;
        if (known && !pins.stale(server, name) && pins.failure(server, name) === undefined)
          return undefined;
        return pins.read(server, [name]).then(() => {
          // no pin in shared state: a tool no listing showed; list the upstream now, pin it
          if (pins.cached(server, name) !== null || pins.failure(server, name) !== undefined)
            return;
          return unlisted.fetch(ctx, (tools) =>
            tools.length === 0
              ? undefined
              : pins.decide(server, seen(server, tools), new Date(now()).toISOString()),
          );
        });
      }
      if (phase !== "tools_list") return undefined;
      const tools = payload as GuardTool[];
      const known = hashes.server(server);
      let need: SeenTool[] | undefined;
      for (const tool of tools) {
        const hash = hashes.of(known, tool);
        const pin = pins.cached(server, tool.name);
        const steady = pin != null && pin.hash === hash && pin.pending === undefined;
        if (steady && !pins.stale(server, tool.name)) continue;
        (need ??= []).push({
          name: tool.name,
          hash,
          description: tool.description ?? "",
          oldHash: toolHashV1(tool),
        });
      }
      return need === undefined
        ? undefined
        : pins.decide(server, need, new Date(now()).toISOString());
    },
    evaluate(phase, payload, ctx): GuardDecision {
      const server = ctx.serverName;
      if (phase === "tool_invoke") {
        const name = (payload as InvocationInfo).name;
        const pin = pins.cached(server, name);
        const failed = pins.failure(server, name);
        if (failed !== undefined || pin === undefined) {
          const why = reasonOf(failed);
          return guardDeny(
            codeOf(failed),
            `The pin of tool "${name}" of server "${server}" cannot be read from shared state (${why}); the call is refused until it can (fail closed).`,
            { server, tool: name },
          );
        }
        if (pin === null) return unlisted.refuse(server, name);
        if (pin.pending === undefined) return GUARD_ALLOW;
        return changedCall(server, name, pin);
      }
      if (phase !== "tools_list") return GUARD_ALLOW;
      const tools = payload as GuardTool[];
      const known = hashes.server(server);
      let flagged: Flagged[] | undefined;
      let code = "tool_changed";
      for (let i = 0; i < tools.length; i++) {
        const tool = tools[i]!;
        const hash = hashes.of(known, tool);
        const pin = pins.cached(server, tool.name);
        if (pin != null && pin.hash === hash && pin.pending === undefined) continue;
        const failed = pins.failure(server, tool.name);
        if (failed !== undefined || pin == null) {
          // never "first sight": a pin that cannot be read may be one a person has to approve
          if (code === "tool_changed") code = codeOf(failed);
          (flagged ??= []).push({
            index: i,
            name: tool.name,
            reasons: [
              `its pin cannot be read or written in shared state (${reasonOf(failed)}); withheld until it can (fail closed)`,
            ],
          });
          continue;
        }
        (flagged ??= []).push(changedTool(i, tool.name, server, pin.hash, hash));
      }
      if (flagged === undefined) return GUARD_ALLOW;
      return listVerdict(action, tools, flagged, code, "Rug pull", server);
    },
  };
}

function codeOf(e: Error | undefined): string {
  return e !== undefined && isWardenError(e) ? e.code : UNAVAILABLE;
}

function reasonOf(e: Error | undefined): string {
  if (e === undefined) return `${UNAVAILABLE}: not read yet`;
  return isWardenError(e) ? `${e.code}: ${e.message}` : `${UNAVAILABLE}: ${e.message}`;
}
