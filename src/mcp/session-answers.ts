/**
 * Answers crossing the gateway: an upstream's result with its names made public and judged by
 * the response phase (a tools/call, prompts/get, resources/read or tasks/* answer), forwarded as
 * the upstream's own text when nothing would change it; and the client's roots/list answer
 * going up, limited to what the policy's storage allows.
 */
import { type Decision, isAllowed } from "../core/decision.js";
import { denialError } from "./denial.js";
import {
  answerWithId,
  errorResponse,
  type Id,
  INTERNAL_ERROR,
  type Request,
  type ResultResponse,
} from "./jsonrpc.js";
import type { GatewayCall } from "./judges.js";
import { publicContent } from "./merge.js";
import type { Naming } from "./naming.js";
import { type How, SECTION } from "./session-audit.js";
import type { Answer, SessionParts } from "./session-core.js";
import { invalidResult } from "./shapes.js";
import type { UpstreamLink } from "./upstream-link.js";

type Obj = Record<string, unknown>;

/**
 * Rewrite names in an answer and run the response phase; the judged call names the request it
 * answers (meta.target: the public name, meta.name: the upstream's own one). `as`: the method
 * the answer is judged as (tasks/result: the tools/call that created the task). A promise only
 * when a response judge has to be awaited.
 */
export function judgeAnswer(
  s: SessionParts,
  req: Request,
  link: UpstreamLink,
  result: Obj,
  publicName: string,
  name: string,
  how: How,
  as = req.method,
): Answer | Promise<Answer> {
  let res = result;
  if (link.cfg.prefix) res = rewriteResult(s.links.naming, link.name, as, res);
  const chain = s.ctx.judges().response;
  if (chain.strategies.length <= 1) return { jsonrpc: "2.0", id: req.id, result: res };
  const j = s.judges.judge("response", as, link.name, res, as);
  j.call.meta!.target = publicName;
  j.call.meta!.name = name;
  const d = s.judges.decide(j);
  if (d instanceof Promise) return d.then((d) => judgedAnswer(s, req, j.call, d, publicName, how));
  return judgedAnswer(s, req, j.call, d, publicName, how);
}

/** The answer the client gets once the response judges decided (`d`) on it. */
function judgedAnswer(
  s: SessionParts,
  req: Request,
  call: GatewayCall,
  d: Decision,
  publicName: string,
  how: How,
): Answer {
  if (isAllowed(d)) return { jsonrpc: "2.0", id: req.id, result: call.args as Obj };
  how.refused = d;
  const [code, section] = SECTION[req.method] ?? ["guard_denied", "mcp"];
  return denialError(req.id, d, {
    code,
    what: `the answer to ${req.method} "${publicName}"`,
    section,
    policyFile: s.ctx.policyFile(),
  });
}

/**
 * The upstream's answer text with the client's id, when the gateway would send the same
 * answer anyway: no prefix to rewrite on this link, no response judges besides the policy
 * (which judges no tools/call, prompts/get or resources/read answer), and no key besides
 * jsonrpc, id and result. Saves serializing every answer again; undefined otherwise.
 */
export function asIs(
  s: SessionParts,
  link: UpstreamLink,
  a: ResultResponse,
  raw: string,
  to: Id,
): string | undefined {
  if (link.cfg.prefix || s.ctx.judges().response.strategies.length > 1) return undefined;
  for (const k in a) if (k !== "jsonrpc" && k !== "id" && k !== "result") return undefined;
  return typeof a.id === "number" ? answerWithId(raw, a.id, to) : undefined;
}

/**
 * The roots a client sends up are limited to what the policy's storage allows. A promise only
 * when a response judge has to be awaited.
 */
export function judgeRoots(
  s: SessionParts,
  link: UpstreamLink,
  a: Answer,
): Answer | Promise<Answer> {
  if (!("result" in a)) return a;
  const bad = invalidResult("roots/list", a.result);
  if (bad !== undefined) {
    s.ctx.log(`the client answered roots/list with an invalid result (${bad}); refused`);
    return errorResponse(
      a.id,
      INTERNAL_ERROR,
      `The client's answer to roots/list is not valid MCP (${bad}); Warden refused it.`,
      { warden: "message_invalid" },
    );
  }
  const roots = Array.isArray(a.result.roots) ? [...(a.result.roots as unknown[])] : [];
  const j = s.judges.judge(
    "response",
    "roots/list",
    link.name,
    { ...a.result, roots },
    "roots/list",
  );
  const d = s.judges.decide(j);
  if (d instanceof Promise) return d.then((d) => judgedRoots(s, link, a, j.call, d));
  return judgedRoots(s, link, a, j.call, d);
}

function judgedRoots(
  s: SessionParts,
  link: UpstreamLink,
  a: ResultResponse,
  call: GatewayCall,
  d: Decision,
): Answer {
  const meta = call.meta!;
  const kept = isAllowed(d) ? ((call.args as Obj).roots as unknown[]) : [];
  s.audit.write({
    call_id: meta.call_id,
    phase: "decision",
    upstream: link.name,
    method: "roots/list",
    decision: meta.hidden?.length || !isAllowed(d) ? "deny" : "allow",
    reason: meta.hidden?.length ? "roots outside the policy's storage were removed" : d.reason,
    duration_ms: 0,
    hidden: meta.hidden,
  });
  return { ...a, result: { ...(call.args as Obj), roots: kept } };
}

export function rewriteResult(naming: Naming, upstream: string, method: string, res: Obj): Obj {
  if (method === "tools/call" && Array.isArray(res.content))
    return { ...res, content: publicContent(naming, upstream, res.content) };
  if (method === "resources/read" && Array.isArray(res.contents))
    return {
      ...res,
      contents: (res.contents as Obj[]).map((c) =>
        typeof c.uri === "string" ? { ...c, uri: naming.publicUri(upstream, c.uri) } : c,
      ),
    };
  if (method === "prompts/get" && Array.isArray(res.messages))
    return {
      ...res,
      messages: (res.messages as Obj[]).map((m) => ({
        ...m,
        content: Array.isArray(m.content)
          ? publicContent(naming, upstream, m.content)
          : (publicContent(naming, upstream, [m.content]) as unknown[])[0],
      })),
    };
  return res;
}
