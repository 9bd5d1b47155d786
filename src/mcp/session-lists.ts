/**
 * tools/list, prompts/list, resources/list and resources/templates/list across the merge:
 * one upstream passes its own cursors through; several are asked in parallel and the merged
 * cursor remembers each one's next page. The policy (tools_list / response phase) filters.
 */
import { isAllowed } from "../core/decision.js";
import type { AuditEntry } from "./audit.js";
import type { Request } from "./jsonrpc.js";
import type { GatewayPhase } from "./judges.js";
import { capabilityFor } from "./merge.js";
import type { Naming } from "./naming.js";
import { type Answer, CANCELLED, type SessionParts } from "./session-core.js";
import { mergedPages } from "./session-pages.js";

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

/**
 * A list that ended before it could be judged (cancelled, cut off, answered with an error):
 * its outcome line.
 */
function ended(
  s: SessionParts,
  method: string,
  upstream: string | null,
  t0: number,
  a: Answer | typeof CANCELLED,
): void {
  const { call } = s.judges.judge("response", method, upstream, {}, method);
  s.audit.outcome(call, method, undefined, t0, a);
}

export async function handleList(s: SessionParts, req: Request, p: Obj): Promise<void> {
  const t0 = performance.now();
  const links = s.links;
  const naming = links.naming;
  const log = s.ctx.log;
  const key = KEY[req.method]!;
  let result: Obj;
  let upstream: string | null = null;
  if (links.size === 1) {
    const link = links.values().next().value!;
    upstream = link.name;
    const a = await s.calls.call(link, req.method, req.params, req.id);
    if (a === CANCELLED) return ended(s, req.method, link.name, t0, a);
    if ("error" in a) {
      ended(s, req.method, link.name, t0, a);
      return s.down.send({ ...a, id: req.id }, req.id);
    }
    result = { ...a.result, [key]: toPublic(naming, link.name, key, a.result[key], log) };
  } else {
    const cap = capabilityFor(req.method)!;
    const merged = await mergedPages(
      s,
      req,
      p,
      () => [...links.values()].filter((l) => links.caps.get(l.name)?.[cap] !== undefined),
      (n) => {
        const l = links.get(n);
        return l?.state === "up" ? l : undefined;
      },
    );
    if (merged === undefined) return;
    if (merged === CANCELLED) return ended(s, req.method, null, t0, merged);
    const items: Obj[] = [];
    for (const { link, answer: a } of merged.pages)
      if ("result" in a) items.push(...toPublic(naming, link.name, key, a.result[key], log));
    result = { [key]: items };
    if (merged.nextCursor !== undefined) result.nextCursor = merged.nextCursor;
  }
  const phase: GatewayPhase = req.method === "tools/list" ? "tools_list" : "response";
  const j = s.judges.judge(phase, req.method, upstream, result, req.method);
  const call = j.call;
  let d = s.judges.decide(j);
  if (d instanceof Promise) d = await d;
  if (!isAllowed(d)) return s.audit.deny(req, call, d, `the answer to ${req.method}`, t0);
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
  s.audit.write(rec);
  s.down.send({ jsonrpc: "2.0", id: req.id, result: call.args as Obj }, req.id);
}
