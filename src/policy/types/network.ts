import { domainToASCII } from "node:url";
import { type CanonHost, canonicalizeHost } from "../canon/host.js";
import { ipv4ToInt } from "../canon/ip.js";
import { canonicalizeUrl } from "../canon/url.js";
import type { CheckContext, CompileContext } from "../context.js";
import { CidrSet, parseCidr } from "../match/cidr.js";
import { isGlob } from "../match/glob.js";
import { scanHost } from "../match/host-scan.js";
import { addNamePattern } from "../match/names.js";
import { AFFIX_HASHES, LengthPlan, lengthPlan, PatternSet } from "../match/pattern-set.js";
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
  /** Bucket lengths shared by the deny and allow host sets: one pass hashes for both. */
  readonly plan: LengthPlan;
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

/** Host rules before `build` (the length plan is shared by the allow and deny sets). */
function compileHostRules(
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
  return { hosts, cidrs: cidrs.build() };
}

/**
 * The request as network rules see it; -1 / "" for what is unknown. One object, filled per
 * check (checks are synchronous), so judging allocates nothing.
 */
interface NetRequest {
  host: string;
  ipv4: number;
  ipv6: readonly number[] | undefined;
  port: number;
  scheme: string;
  method: string;
  /** Suffix hashes of `host` in `AFFIX_HASHES`, for the host sets. */
  hashes: number;
}
const Q: NetRequest = {
  host: "",
  ipv4: -1,
  ipv6: undefined,
  port: -1,
  scheme: "",
  method: "",
  hashes: 0,
};

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

/** Set by `firstHolding`: the first rule that matched the host but not its conditions. */
let near: NetRule | undefined;

/** The first rule (source order) matching the host or address whose conditions hold. */
function firstHolding(rules: HostRules, q: NetRequest): NetRule | undefined {
  near = undefined;
  let hit = rules.hosts.probe(q.host, AFFIX_HASHES, q.hashes);
  if (hit !== undefined && !holds(hit, q)) {
    near = hit;
    hit = rules.hosts.all(q.host).find((r) => holds(r, q));
  }
  if (!rules.cidrs.empty) {
    const c =
      q.ipv4 >= 0 ? rules.cidrs.first4(q.ipv4) : q.ipv6 ? rules.cidrs.first6(q.ipv6) : undefined;
    if (c !== undefined) {
      if (holds(c, q)) {
        if (hit === undefined || c.index < hit.index) hit = c;
      } else near ??= c;
    }
  }
  return hit;
}

/** Judge the request in `Q` against allow/deny host rules. */
function judgeNet(c: NetworkCompiled, q: NetRequest, kind: string): PolicyDecision {
  const deny = firstHolding(c.deny, q);
  if (deny !== undefined) return deny.decision;
  const allow = firstHolding(c.allow, q);
  if (allow !== undefined) return allow.decision;
  if (near !== undefined) {
    return conditionFailed(near, `${kind}: port, scheme or method of ${q.host} is not allowed`);
  }
  return NO_NET_RULE[kind] ?? noRule(kind, "no network rule allows this host");
}

/** Fill `Q` with a canonical host and its suffix hashes. */
function setHost(c: NetworkCompiled, h: CanonHost): void {
  Q.host = h.host;
  Q.ipv4 = h.ipv4;
  Q.ipv6 = h.ipv6;
  Q.hashes = c.plan.hashSuffixes(h.host, AFFIX_HASHES);
}

function connect(
  c: NetworkCompiled,
  a: Readonly<Record<string, unknown>>,
  ctx: CheckContext,
): PolicyDecision {
  const kind = "network.connect";
  const host = a.host;
  if (typeof host !== "string") return badAction(kind, `"host" must be a string`);
  const port = a.port;
  if (
    port !== undefined &&
    !(typeof port === "number" && Number.isInteger(port) && port >= 0 && port <= 65535)
  ) {
    return badAction(kind, `"port" must be an integer 0-65535`);
  }
  const scheme = a.scheme;
  if (scheme !== undefined && typeof scheme !== "string")
    return badAction(kind, `"scheme" must be a string`);
  let p = port ?? -1;
  // A canonical name as it stands (the common case): one pass checks it and hashes it.
  const count = scanHost(host, c.plan, AFFIX_HASHES);
  if (count >= 0) {
    Q.host = host;
    Q.ipv4 = -1;
    Q.ipv6 = undefined;
    Q.hashes = count;
  } else {
    const v4 = ipv4ToInt(host);
    if (v4 >= 0) {
      Q.host = host;
      Q.ipv4 = v4;
      Q.ipv6 = undefined;
      Q.hashes = c.plan.hashSuffixes(host, AFFIX_HASHES);
    } else {
      const h = canonicalizeHost(host);
      if (!h.ok) return notCanonical(kind, h.reason);
      if (h.value.port >= 0) {
        if (p >= 0 && p !== h.value.port)
          return badAction(kind, `port ${p} and the host's port ${h.value.port} differ`);
        p = h.value.port;
      }
      setHost(c, h.value);
    }
  }
  Q.port = p;
  Q.scheme = scheme === undefined || scheme === "" ? "" : scheme.toLowerCase();
  Q.method = "";
  if (ctx.explain)
    ctx.input = {
      kind,
      host: Q.host,
      port: p < 0 ? undefined : p,
      scheme: Q.scheme || undefined,
    };
  return judgeNet(c, Q, kind);
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
  setHost(c, u.value.host);
  Q.port = u.value.port;
  Q.scheme = u.value.scheme;
  Q.method = method;
  if (ctx.explain)
    ctx.input = {
      kind,
      url: u.value.href,
      host: Q.host,
      port: Q.port,
      scheme: Q.scheme,
      method,
    };
  return judgeNet(c, Q, kind);
}

export const networkType: PermissionType<NetworkCompiled> = {
  key: "network",
  description: "outbound connections by host glob or CIDR, optionally ports, schemes, methods",
  schema: S.obj({ allow: S.arr(entry), deny: S.arr(entry) }),
  compile(value, ctx, path) {
    const v = value as { allow?: Record<string, unknown>[]; deny?: Record<string, unknown>[] };
    const deny = compileHostRules(v.deny ?? [], "deny", ctx, [...path, "deny"]);
    const allow = compileHostRules(v.allow ?? [], "allow", ctx, [...path, "allow"]);
    const plan = lengthPlan(deny.hosts, allow.hosts);
    deny.hosts.build(plan);
    allow.hosts.build(plan);
    return { deny, allow, plan: new LengthPlan(plan) };
  },
  match: { "network.connect": connect, "http.request": request },
};
