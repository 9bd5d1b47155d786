import { domainToASCII } from "node:url";
import { isGlob } from "../../core/glob.js";
import { type CanonHost, canonicalizeHost } from "../canon/host.js";
import { ipv4ToInt } from "../canon/ip.js";
import { canonicalizeUrl } from "../canon/url.js";
import type { CheckContext, CompileContext } from "../context.js";
import { shippedRef } from "../json-schema.js";
import { CidrSet, parseCidr } from "../match/cidr.js";
import { scanHost } from "../match/host-scan.js";
import { Memo } from "../match/memo.js";
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
import { asList } from "../schema.js";
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
  /** What raw hosts and URLs seen before came to (see `Memo`). */
  readonly hosts: Memo<HostVerdict>;
  readonly urls: Memo<UrlVerdict>;
}

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

/** The first host-glob and CIDR rule of one set (allow or deny) matching a host. */
interface HostHits {
  readonly name: NetRule | undefined;
  readonly cidr: NetRule | undefined;
}

/** A canonical host and what the rules say about it, whatever the port, scheme or method. */
interface HostVerdict {
  readonly host: string;
  /** The host's own port (`host:8080`), -1 when it has none. */
  readonly port: number;
  readonly deny: HostHits;
  readonly allow: HostHits;
}

/** A canonical URL and the verdict on its host. */
interface UrlVerdict {
  readonly href: string;
  readonly port: number;
  readonly scheme: string;
  readonly host: HostVerdict;
}

function hits(
  rules: HostRules,
  host: string,
  ipv4: number,
  ipv6: readonly number[] | undefined,
  count: number,
): HostHits {
  const name = rules.hosts.probe(host, AFFIX_HASHES, count);
  const cidr = rules.cidrs.empty
    ? undefined
    : ipv4 >= 0
      ? rules.cidrs.first4(ipv4)
      : ipv6
        ? rules.cidrs.first6(ipv6)
        : undefined;
  return { name, cidr };
}

/** The verdict on a canonical host (`count` suffix hashes of it in `AFFIX_HASHES`). */
function verdict(
  c: NetworkCompiled,
  host: string,
  ipv4: number,
  ipv6: readonly number[] | undefined,
  port: number,
  count: number,
): HostVerdict {
  return {
    host,
    port,
    deny: hits(c.deny, host, ipv4, ipv6, count),
    allow: hits(c.allow, host, ipv4, ipv6, count),
  };
}

function canonVerdict(c: NetworkCompiled, h: CanonHost): HostVerdict {
  const count = c.plan.hashSuffixes(h.host, AFFIX_HASHES);
  return verdict(c, h.host, h.ipv4, h.ipv6, h.port, count);
}

/** The verdict on a raw host, or why it cannot be canonicalized; remembered (see `Memo`). */
function hostVerdict(c: NetworkCompiled, raw: string): HostVerdict | string {
  const known = c.hosts.get(raw);
  if (known !== undefined) return known;
  let v: HostVerdict;
  // A canonical name as it stands (the common case): one pass checks it and hashes it.
  const count = scanHost(raw, c.plan, AFFIX_HASHES);
  if (count >= 0) v = verdict(c, raw, -1, undefined, -1, count);
  else {
    const v4 = ipv4ToInt(raw);
    if (v4 >= 0) v = verdict(c, raw, v4, undefined, -1, c.plan.hashSuffixes(raw, AFFIX_HASHES));
    else {
      const h = canonicalizeHost(raw);
      if (!h.ok) return h.reason;
      v = canonVerdict(c, h.value);
    }
  }
  c.hosts.set(raw, v);
  return v;
}

/** The verdict on a raw URL, or why it cannot be canonicalized; remembered (see `Memo`). */
function urlVerdict(c: NetworkCompiled, raw: string): UrlVerdict | string {
  const known = c.urls.get(raw);
  if (known !== undefined) return known;
  const u = canonicalizeUrl(raw);
  if (!u.ok) return u.reason;
  const { href, port, scheme } = u.value;
  const v: UrlVerdict = { href, port, scheme, host: canonVerdict(c, u.value.host) };
  c.urls.set(raw, v);
  return v;
}

/** The request's port, scheme and method as rules see them; -1 / "" for what is unknown. */
interface NetRequest {
  host: string;
  port: number;
  scheme: string;
  method: string;
}
/** One object, filled per check (checks are synchronous), so judging allocates nothing. */
const Q: NetRequest = { host: "", port: -1, scheme: "", method: "" };

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
function firstHolding(rules: HostRules, h: HostHits, q: NetRequest): NetRule | undefined {
  near = undefined;
  let hit = h.name;
  if (hit !== undefined && !holds(hit, q)) {
    near = hit;
    hit = rules.hosts.all(q.host).find((r) => holds(r, q));
  }
  const c = h.cidr;
  if (c !== undefined) {
    if (holds(c, q)) {
      if (hit === undefined || c.index < hit.index) hit = c;
    } else near ??= c;
  }
  return hit;
}

/** Judge the request in `Q` against allow/deny host rules. */
function judgeNet(c: NetworkCompiled, v: HostVerdict, q: NetRequest, kind: string): PolicyDecision {
  const deny = firstHolding(c.deny, v.deny, q);
  if (deny !== undefined) return deny.decision;
  const allow = firstHolding(c.allow, v.allow, q);
  if (allow !== undefined) return allow.decision;
  if (near !== undefined) {
    return conditionFailed(near, `${kind}: port, scheme or method of ${q.host} is not allowed`);
  }
  return NO_NET_RULE[kind] ?? noRule(kind, "no network rule allows this host");
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
  const v = hostVerdict(c, host);
  if (typeof v === "string") return notCanonical(kind, v);
  let p = port ?? -1;
  if (v.port >= 0) {
    if (p >= 0 && p !== v.port)
      return badAction(kind, `port ${p} and the host's port ${v.port} differ`);
    p = v.port;
  }
  Q.host = v.host;
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
  return judgeNet(c, v, Q, kind);
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
  const u = urlVerdict(c, a.url);
  if (typeof u === "string") return notCanonical(kind, u);
  const method = ((a.method as string | undefined) ?? "GET").toUpperCase();
  Q.host = u.host.host;
  Q.port = u.port;
  Q.scheme = u.scheme;
  Q.method = method;
  if (ctx.explain)
    ctx.input = {
      kind,
      url: u.href,
      host: Q.host,
      port: Q.port,
      scheme: Q.scheme,
      method,
    };
  return judgeNet(c, u.host, Q, kind);
}

export const networkType: PermissionType<NetworkCompiled> = {
  key: "network",
  description: "outbound connections by host glob or CIDR, optionally ports, schemes, methods",
  schema: { $ref: shippedRef("policy", "#/definitions/network") },
  compile(value, ctx, path) {
    const v = value as { allow?: Record<string, unknown>[]; deny?: Record<string, unknown>[] };
    const deny = compileHostRules(v.deny ?? [], "deny", ctx, [...path, "deny"]);
    const allow = compileHostRules(v.allow ?? [], "allow", ctx, [...path, "allow"]);
    const plan = lengthPlan(deny.hosts, allow.hosts);
    deny.hosts.build(plan);
    allow.hosts.build(plan);
    return { deny, allow, plan: new LengthPlan(plan), hosts: new Memo(), urls: new Memo() };
  },
  match: { "network.connect": connect, "http.request": request },
};
