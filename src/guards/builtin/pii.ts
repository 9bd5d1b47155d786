import type { GuardSpec } from "../config-types.js";
import { GUARD_ALLOW, guardDeny, guardModify } from "../decision.js";
import type { Guard, GuardDecision, InvocationInfo, ResponseInfo } from "../types.js";
import { stringList } from "./check.js";
import { PII_KINDS, type PiiKind, redact, scanPii } from "./pii-scan.js";

/**
 * pii: finds emails, phone numbers, payment cards (Luhn-checked), national ids, API keys and
 * private keys in requests (arguments) and responses (results); mode `block` (default) refuses
 * the message, `redact` replaces each finding with `[REDACTED:<kind>]`.
 */
const _KEYS = ["mode", "kinds", "allow"];

interface Scan {
  counts: Partial<Record<PiiKind, number>>;
  paths: string[];
  redacting: boolean;
}

/** Walk a JSON value; returns the same object when nothing was redacted (copy on write). */
function walk(
  v: unknown,
  path: string,
  kinds: ReadonlySet<PiiKind>,
  allow: ReadonlySet<string>,
  s: Scan,
  depth: number,
): unknown {
  if (typeof v === "string") {
    const hits = scanPii(v, kinds, allow);
    if (hits.length === 0) return v;
    for (const h of hits) s.counts[h.kind] = (s.counts[h.kind] ?? 0) + 1;
    if (s.paths.length < 10) s.paths.push(path);
    return s.redacting ? redact(v, hits) : v;
  }
  if (depth > 64 || typeof v !== "object" || v === null) return v;
  if (Array.isArray(v)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < v.length; i++) {
      const r = walk(v[i], `${path}[${i}]`, kinds, allow, s, depth + 1);
      if (r !== v[i]) (copy ??= v.slice())[i] = r;
    }
    return copy ?? v;
  }
  let copy: Record<string, unknown> | undefined;
  const o = v as Record<string, unknown>;
  for (const k in o) {
    const r = walk(o[k], `${path}.${k}`, kinds, allow, s, depth + 1);
    if (r !== o[k]) (copy ??= { ...o })[k] = r;
  }
  return copy ?? v;
}

export function createPii(spec: GuardSpec): Guard {
  const mode = (spec.config.mode as "block" | "redact" | undefined) ?? "block";
  const kinds = new Set<PiiKind>(
    spec.config.kinds === undefined ? PII_KINDS : (stringList(spec.config.kinds) as PiiKind[]),
  );
  const allow = new Set(stringList(spec.config.allow));
  return {
    id: spec.id,
    type: "pii",
    evaluate(phase, payload, ctx): GuardDecision {
      let key: "arguments" | "result";
      if (phase === "request" || phase === "tool_invoke") key = "arguments";
      else if (phase === "response") key = "result";
      else return GUARD_ALLOW;
      const p = payload as InvocationInfo | ResponseInfo;
      const value = (p as unknown as Record<string, unknown>)[key];
      const s: Scan = { counts: {}, paths: [], redacting: mode === "redact" };
      const out = walk(value, key, kinds, allow, s, 0);
      if (s.paths.length === 0) return GUARD_ALLOW;
      const found = Object.entries(s.counts)
        .map(([k, n]) => `${n} ${k}`)
        .join(", ");
      const where = `${phase === "response" ? "the result of" : "the arguments of"} ${p.method}${p.name ? ` "${p.name}"` : ""} (server "${ctx.serverName}")`;
      if (mode === "block")
        return guardDeny(
          "pii_detected",
          `Personal or secret data found in ${where}: ${found} at ${s.paths.join(", ")}. Remove it, or set the pii guard "${spec.id}" to mode: redact.`,
          { kinds: s.counts, paths: s.paths, server: ctx.serverName },
        );
      return guardModify({ ...p, [key]: out }, [`Redacted ${found} in ${where}.`]);
    },
  };
}
