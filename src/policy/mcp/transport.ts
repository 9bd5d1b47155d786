import { canonicalizeHost } from "../canon/host.js";
import type { CheckContext, CompileContext } from "../context.js";
import { addNamePattern } from "../match/names.js";
import { PatternSet } from "../match/pattern-set.js";
import { badAction, noRule, notCanonical, type Rule } from "../rule.js";
import type { Path } from "../source.js";
import { hostPattern } from "../types/network.js";
import type { PolicyDecision } from "../types.js";

export const TRANSPORTS = ["stdio", "http", "websocket"] as const;

/** Per transport: off (undefined), on for any host (a rule), or on for some hosts. */
type One = { rule: Rule; hosts: PatternSet<Rule> | null } | undefined;
export type TransportRules = Readonly<Record<(typeof TRANSPORTS)[number], One>>;

export function compileTransport(value: unknown, ctx: CompileContext, path: Path): TransportRules {
  const v = value as Record<string, boolean | { allowed_hosts?: string[] } | undefined>;
  const one = (t: (typeof TRANSPORTS)[number]): One => {
    const x = v[t];
    if (x === undefined || x === false) return undefined;
    const at = [...path, t];
    const rule = ctx.rule(at, "allow");
    if (x === true) return { rule, hosts: null };
    const hosts = new PatternSet<Rule>(true);
    (x.allowed_hosts ?? []).forEach((h, i) => {
      const hp = hostPattern(h);
      const err = hp.ok
        ? addNamePattern(hosts, hp.value, ctx.rule([...at, "allowed_hosts", i], "allow"), {
            fromEnd: true,
          })
        : hp.reason;
      if (err) ctx.error([...at, "allowed_hosts", i], "policy_bad_pattern", err);
    });
    return { rule, hosts: hosts.build() };
  };
  return { stdio: one("stdio"), http: one("http"), websocket: one("websocket") };
}

export function judgeTransport(
  c: TransportRules | undefined,
  a: Readonly<Record<string, unknown>>,
  ctx: CheckContext,
): PolicyDecision {
  const kind = "transport.connect";
  const t = a.transport;
  if (t !== "stdio" && t !== "http" && t !== "websocket") {
    return badAction(kind, `"transport" must be "stdio", "http" or "websocket"`);
  }
  let host: string | undefined;
  if (a.host !== undefined) {
    const h = canonicalizeHost(a.host);
    if (!h.ok) return notCanonical(kind, h.reason);
    host = h.value.host;
  }
  if (ctx.explain)
    ctx.input = host === undefined ? { kind, transport: t } : { kind, transport: t, host };
  const one = c?.[t];
  if (one === undefined) return noRule(kind, `transport "${t}" is not enabled`);
  if (one.hosts === null) return one.rule.decision;
  if (host === undefined)
    return badAction(kind, `transport "${t}" allows only some hosts: "host" is required`);
  const r = one.hosts.first(host);
  return r !== undefined ? r.decision : noRule(kind, `host is not in ${t}.allowed_hosts`);
}
