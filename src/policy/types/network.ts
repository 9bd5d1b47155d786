import { domainToASCII } from "node:url";
import { type CanonHost, canonicalizeHost } from "../canon/host.js";
import { canonicalizeUrl } from "../canon/url.js";
import type { CheckContext, CompileContext } from "../context.js";
import { CidrSet, parseCidr } from "../match/cidr.js";
import { isGlob } from "../match/glob.js";
import { addNamePattern } from "../match/names.js";
import { PatternSet } from "../match/pattern-set.js";
import type { PermissionType } from "../registry.js";
import {
  badAction,
  conditionFailed,
  noRule,
  noRuleTable,
  notCanonical,
  type Rule,
} from "../rule.js";
import { asList, S } from "../schema.js";
import type { Path } from "../source.js";
import type { PolicyDecision } from "../types.js";

const NO_NET_RULE = noRuleTable("no network rule allows this host", [
  "network.connect",
  "http.request",
]);

/** A network rule: host glob or CIDR, optionally limited to ports, schemes and methods. */
export interface NetRule extends Rule {
  readonly ports: readonly (readonly [number, number])[] | null;
  readonly schemes: ReadonlySet<string> | null;
  readonly methods: ReadonlySet<string> | null;
  readonly conditional: boolean;
}

export interface HostRules {
  readonly hosts: PatternSet<NetRule>;
  readonly cidrs: CidrSet<NetRule>;
}

export interface NetworkCompiled {
  readonly allow: HostRules;
  readonly deny: HostRules;
}

const port = S.oneOf(S.int(0, 65535), S.str());
const entry = S.obj({
  host: S.str(),
  cidr: S.str(),
  ports: S.oneOf(port, S.arr(port)),
  schemes: S.strs(),
  methods: S.strs(),
});

/** Canonicalize a host pattern: exact hosts as inputs are; globs lower-cased, IDN labels to punycode. */
export function hostPattern(
  raw: string,
): { ok: true; value: string } | { ok: false; reason: string } {
  if (!isGlob(raw)) {
    const c = canonicalizeHost(raw);
    if (!c.ok) return c;
    if (c.value.port >= 0) return { ok: false, reason: `host "${raw}" has a port: use "ports"` };
    return { ok: true, value: c.value.host };
  }
  let p = raw.toLowerCase();
  if (p.endsWith(".")) p = p.slice(0, -1);
  const labels = p
    .split(".")
    .map((l) => (isGlob(l) || /^[\x21-\x7e]*$/.test(l) ? l : domainToASCII(l)));
  if (labels.some((l) => l === ""))
    return { ok: false, reason: `host pattern "${raw}" has an empty label` };
  return { ok: true, value: labels.join(".") };
}

function parsePorts(v: unknown): [number, number][] | string {
  const out: [number, number][] = [];
  for (const p of asList(v as number | string | (number | string)[])) {
    if (typeof p === "number") out.push([p, p]);
    else {
      const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(p.trim());
      const lo = m ? Number(m[1]) : Number.NaN;
      const hi = m?.[2] !== undefined ? Number(m[2]) : lo;
      if (!(lo >= 0 && hi <= 65535 && lo <= hi))
        return `"${p}" is not a port or range like "8000-8100"`;
      out.push([lo, hi]);
    }
  }
  return out;
}

export function compileHostRules(
  list: readonly Record<string, unknown>[],
  effect: "allow" | "deny",
  ctx: CompileContext,
  path: Path,
): HostRules {
  const hosts = new PatternSet<NetRule>(true);
  const cidrs = new CidrSet<NetRule>();
  list.forEach((e, i) => {
    const at = [...path, i];
    const host = e.host as string | undefined;
    const cidr = e.cidr as string | undefined;
    if ((host === undefined) === (cidr === undefined)) {
      ctx.error(at, "policy_missing_key", `a network rule needs exactly one of "host" or "cidr"`);
      return;
    }
    const ports = e.ports === undefined ? null : parsePorts(e.ports);
    if (typeof ports === "string") {
      ctx.error([...at, "ports"], "policy_bad_value", ports);
      return;
    }
    const lower = (k: string) =>
      e[k] === undefined
        ? null
        : new Set(asList(e[k] as string | string[]).map((s) => s.toLowerCase()));
    const base = ctx.rule(at, effect);
    const rule: NetRule = Object.freeze({
      ...base,
      ports,
      schemes: lower("schemes"),
      methods:
        e.methods === undefined
          ? null
          : new Set(asList(e.methods as string | string[]).map((s) => s.toUpperCase())),
      conditional: e.ports !== undefined || e.schemes !== undefined || e.methods !== undefined,
    });
    if (cidr !== undefined) {
      try {
        cidrs.add(parseCidr(cidr), rule);
      } catch (err) {
        ctx.error(
          [...at, "cidr"],
          "policy_bad_pattern",
          `cidr "${cidr}": ${(err as Error).message}`,
        );
      }
      return;
    }
    const hp = hostPattern(host!);
    if (!hp.ok) {
      ctx.error([...at, "host"], "policy_bad_pattern", hp.reason);
      return;
    }
    const err = addNamePattern(hosts, hp.value, rule, { fromEnd: true });
    if (err) ctx.error([...at, "host"], "policy_bad_pattern", err);
  });
  return { hosts: hosts.build(), cidrs: cidrs.build() };
}

/** The request as network rules see it; -1 / "" for what is unknown. */
export interface NetRequest {
  host: CanonHost;
  port: number;
  scheme: string;
  method: string;
}

/** Does the rule's condition hold? Unknown values satisfy deny rules and fail allow rules. */
function holds(r: NetRule, q: NetRequest): boolean {
  if (!r.conditional) return true;
  const lenient = r.effect === "deny";
  if (r.ports !== null) {
    if (q.port < 0) {
      if (!lenient) return false;
    } else if (!r.ports.some(([lo, hi]) => q.port >= lo && q.port <= hi)) return false;
  }
  if (r.schemes !== null) {
    if (q.scheme === "") {
      if (!lenient) return false;
    } else if (!r.schemes.has(q.scheme)) return false;
  }
  if (r.methods !== null) {
    if (q.method === "") {
      if (!lenient) return false;
    } else if (!r.methods.has(q.method)) return false;
  }
  return true;
}

function firstHolding(
  rules: HostRules,
  q: NetRequest,
): { hit: NetRule | undefined; near: NetRule | undefined } {
  const h = q.host;
  let near: NetRule | undefined;
  let hit = rules.hosts.first(h.host);
  if (hit !== undefined && !holds(hit, q)) {
    near = hit;
    hit = rules.hosts.all(h.host).find((r) => holds(r, q));
  }
  if (!rules.cidrs.empty) {
    const c =
      h.ipv4 >= 0 ? rules.cidrs.first4(h.ipv4) : h.ipv6 ? rules.cidrs.first6(h.ipv6) : undefined;
    if (c !== undefined) {
      if (holds(c, q)) {
        if (hit === undefined || c.index < hit.index) hit = c;
      } else near ??= c;
    }
  }
  return { hit, near };
}

/** Judge a request against allow/deny host rules (shared with the MCP transport rules). */
export function judgeNet(c: NetworkCompiled, q: NetRequest, kind: string): PolicyDecision {
  const deny = firstHolding(c.deny, q).hit;
  if (deny !== undefined) return deny.decision;
  const allow = firstHolding(c.allow, q);
  if (allow.hit !== undefined) return allow.hit.decision;
  if (allow.near !== undefined) {
    return conditionFailed(
      allow.near,
      `${kind}: port, scheme or method of ${q.host.host} is not allowed`,
    );
  }
  return NO_NET_RULE[kind] ?? noRule(kind, "no network rule allows this host");
}

function connect(
  c: NetworkCompiled,
  a: Readonly<Record<string, unknown>>,
  ctx: CheckContext,
): PolicyDecision {
  const kind = "network.connect";
  if (typeof a.host !== "string") return badAction(kind, `"host" must be a string`);
  if (
    a.port !== undefined &&
    !(Number.isInteger(a.port) && (a.port as number) >= 0 && (a.port as number) <= 65535)
  ) {
    return badAction(kind, `"port" must be an integer 0-65535`);
  }
  if (a.scheme !== undefined && typeof a.scheme !== "string")
    return badAction(kind, `"scheme" must be a string`);
  const h = canonicalizeHost(a.host);
  if (!h.ok) return notCanonical(kind, h.reason);
  let p = (a.port as number | undefined) ?? -1;
  if (h.value.port >= 0) {
    if (p >= 0 && p !== h.value.port)
      return badAction(kind, `port ${p} and the host's port ${h.value.port} differ`);
    p = h.value.port;
  }
  const q: NetRequest = {
    host: h.value,
    port: p,
    scheme: ((a.scheme as string | undefined) ?? "").toLowerCase(),
    method: "",
  };
  if (ctx.explain)
    ctx.input = {
      kind,
      host: h.value.host,
      port: p < 0 ? undefined : p,
      scheme: q.scheme || undefined,
    };
  return judgeNet(c, q, kind);
}

function request(
  c: NetworkCompiled,
  a: Readonly<Record<string, unknown>>,
  ctx: CheckContext,
): PolicyDecision {
  const kind = "http.request";
  if (typeof a.url !== "string") return badAction(kind, `"url" must be a string`);
  if (a.method !== undefined && (typeof a.method !== "string" || !/^[A-Za-z]+$/.test(a.method))) {
    return badAction(kind, `"method" must be an HTTP method like GET`);
  }
  const u = canonicalizeUrl(a.url);
  if (!u.ok) return notCanonical(kind, u.reason);
  const method = ((a.method as string | undefined) ?? "GET").toUpperCase();
  const q: NetRequest = { host: u.value.host, port: u.value.port, scheme: u.value.scheme, method };
  if (ctx.explain)
    ctx.input = {
      kind,
      url: u.value.href,
      host: q.host.host,
      port: q.port,
      scheme: q.scheme,
      method,
    };
  return judgeNet(c, q, kind);
}

export const networkType: PermissionType<NetworkCompiled> = {
  key: "network",
  description: "outbound connections by host glob or CIDR, optionally ports, schemes, methods",
  schema: S.obj({ allow: S.arr(entry), deny: S.arr(entry) }),
  compile(value, ctx, path) {
    const v = value as { allow?: Record<string, unknown>[]; deny?: Record<string, unknown>[] };
    return {
      deny: compileHostRules(v.deny ?? [], "deny", ctx, [...path, "deny"]),
      allow: compileHostRules(v.allow ?? [], "allow", ctx, [...path, "allow"]),
    };
  },
  match: { "network.connect": connect, "http.request": request },
};
