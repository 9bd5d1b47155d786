/**
 * tools/list, prompts/list, resources/list and resources/templates/list across the merge:
 * one upstream passes its own cursors through; several are asked in parallel and the merged
 * cursor remembers each one's next page. The policy (tools_list / response phase) filters.
 */
import { type Decision, isAllowed } from "../core/decision.js";
import type { AuditEntry } from "./audit.js";
import {
  type ErrorResponse,
  errorResponse,
  type Id,
  INVALID_PARAMS,
  type Message,
  type Request,
} from "./jsonrpc.js";
import type { GatewayCall as Call, GatewayChain as Chain, GatewayPhase } from "./judges.js";
import { capabilityFor } from "./merge.js";
import { decodeCursor, encodeCursor, type MergedCursor, type Naming } from "./naming.js";
import { type Answer, CANCELLED } from "./session-core.js";
import type { UpstreamLink } from "./upstream-link.js";

type Obj = Record<string, unknown>;

export const LIST_METHODS = new Set([
  "tools/list",
  "prompts/list",
  "resources/list",
  "resources/templates/list",
]);
const KEY: Record<string, string> = {
  "tools/list": "tools",
  "prompts/list": "prompts",
  "resources/list": "resources",
  "resources/templates/list": "resourceTemplates",
};

export interface ListHost {
  links: Map<string, UpstreamLink>;
  caps: Map<string, Obj>;
  naming: Naming;
  call(
    link: UpstreamLink,
    method: string,
    params: unknown,
    clientId?: Id,
  ): Promise<Answer | typeof CANCELLED>;
  judge(
    phase: GatewayPhase,
    fn: string,
    target: string | null,
    args: unknown,
    method: string,
  ): { call: Call; chain: Chain };
  deny(req: Request, call: Call, d: Decision, what: string, t0: number): void;
  reply(id: Id, result: Obj): void;
  send(m: Message, related?: Id): void;
  audit(rec: AuditEntry): void;
  /** Answer a refusal of `method` and audit it (its decision line, with its code). */
  refuse(e: ErrorResponse, method: string): void;
  log(line: string): void;
}

function toPublic(
  naming: Naming,
  upstream: string,
  key: string,
  items: unknown,
  log: (line: string) => void,
): Obj[] {
  if (!Array.isArray(items)) return [];
  const out: Obj[] = [];
  const field =
    key === "tools" || key === "prompts" ? "name" : key === "resources" ? "uri" : "uriTemplate";
  for (const it of items as Obj[]) {
    const own = String(it[field]);
    const pub =
      field === "name" ? naming.publicName(upstream, own) : naming.publicUri(upstream, own, true);
    // several prefix: false upstreams: a name another one listed first stays that one's
    const owner = naming.owner(field === "name" ? "n" : "u", own);
    if (owner !== undefined && owner !== upstream) {
      log(
        `upstream "${upstream}" lists ${field} "${own}", which upstream "${owner}" listed first; hidden (give one of them prefix: true to see both)`,
      );
      continue;
    }
    out.push(pub === own ? it : { ...it, [field]: pub });
  }
  return out;
}

export async function handleList(h: ListHost, req: Request, p: Obj): Promise<void> {
  const t0 = performance.now();
  const key = KEY[req.method]!;
  let result: Obj;
  let upstream: string | null = null;
  if (h.links.size === 1) {
    const link = h.links.values().next().value!;
    upstream = link.name;
    const a = await h.call(link, req.method, req.params, req.id);
    if (a === CANCELLED) return;
    if ("error" in a) return h.send({ ...a, id: req.id }, req.id);
    result = { ...a.result, [key]: toPublic(h.naming, link.name, key, a.result[key], h.log) };
  } else {
    let cur: MergedCursor | undefined;
    if (p.cursor !== undefined) {
      cur = decodeCursor(p.cursor);
      if (cur === undefined)
        return h.refuse(
          errorResponse(
            req.id,
            INVALID_PARAMS,
            `Invalid cursor for ${req.method}: pass the nextCursor of the previous page unchanged.`,
            { warden: "message_invalid" },
          ),
          req.method,
        );
    } else {
      cur = {};
      const cap = capabilityFor(req.method)!;
      for (const [name] of h.links) if (h.caps.get(name)?.[cap] !== undefined) cur[name] = null;
    }
    const names = Object.keys(cur).filter((n) => h.links.get(n)?.state === "up");
    const answers = await Promise.all(
      names.map((n) => {
        const params: Obj = { ...p };
        delete params.cursor;
        if (cur[n] !== null && cur[n] !== undefined) params.cursor = cur[n];
        return h.call(h.links.get(n)!, req.method, params, req.id);
      }),
    );
    const items: Obj[] = [];
    const next: MergedCursor = {};
    for (const [i, a] of answers.entries()) {
      if (a === CANCELLED) return;
      if ("error" in a) continue;
      items.push(...toPublic(h.naming, names[i]!, key, a.result[key], h.log));
      if (typeof a.result.nextCursor === "string") next[names[i]!] = a.result.nextCursor;
    }
    result = { [key]: items };
    if (Object.keys(next).length > 0) result.nextCursor = encodeCursor(next);
  }
  const phase: GatewayPhase = req.method === "tools/list" ? "tools_list" : "response";
  const { call, chain } = h.judge(phase, req.method, upstream, result, req.method);
  const d = chain.before(call);
  if (!isAllowed(d)) return h.deny(req, call, d, `the answer to ${req.method}`, t0);
  const meta = call.meta!;
  const rec: AuditEntry = {
    call_id: meta.call_id,
    phase: "decision",
    upstream,
    method: req.method,
    decision: "allow",
    duration_ms: performance.now() - t0,
  };
  if (meta.hidden !== undefined) rec.hidden = meta.hidden;
  h.audit(rec);
  h.reply(req.id, call.args as Obj);
}
