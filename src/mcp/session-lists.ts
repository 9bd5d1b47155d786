/**
 * tools/list, prompts/list, resources/list and resources/templates/list across the merge:
 * one upstream passes its own cursors through; several are asked in parallel and the merged
 * cursor remembers each one's next page. The policy (tools_list / response phase) filters.
 */
import { isAllowed } from "../core/decision.js";
import type { AuditEntry } from "./audit.js";
import type { Id, Message, Request } from "./jsonrpc.js";
import type { GatewayPhase } from "./judges.js";
import { capabilityFor } from "./merge.js";
import type { Naming } from "./naming.js";
import { type Answer, CANCELLED } from "./session-core.js";
import { mergedPages, type SessionHost } from "./session-host.js";
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

export interface ListHost extends SessionHost {
  links: Map<string, UpstreamLink>;
  caps: Map<string, Obj>;
  naming: Naming;
  reply(id: Id, result: Obj): void;
  send(m: Message, related?: Id): void;
  audit(rec: AuditEntry): void;
  /**
   * A list that ended before it could be judged (cancelled, cut off, answered with an error):
   * its outcome line.
   */
  ended(method: string, upstream: string | null, t0: number, a: Answer | typeof CANCELLED): void;
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
    if (a === CANCELLED) return h.ended(req.method, link.name, t0, a);
    if ("error" in a) {
      h.ended(req.method, link.name, t0, a);
      return h.send({ ...a, id: req.id }, req.id);
    }
    result = { ...a.result, [key]: toPublic(h.naming, link.name, key, a.result[key], h.log) };
  } else {
    const cap = capabilityFor(req.method)!;
    const merged = await mergedPages(
      h,
      req,
      p,
      () => [...h.links.values()].filter((l) => h.caps.get(l.name)?.[cap] !== undefined),
      (n) => {
        const l = h.links.get(n);
        return l?.state === "up" ? l : undefined;
      },
    );
    if (merged === undefined) return;
    if (merged === CANCELLED) return h.ended(req.method, null, t0, merged);
    const items: Obj[] = [];
    for (const { link, answer: a } of merged.pages)
      if ("result" in a) items.push(...toPublic(h.naming, link.name, key, a.result[key], h.log));
    result = { [key]: items };
    if (merged.nextCursor !== undefined) result.nextCursor = merged.nextCursor;
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
