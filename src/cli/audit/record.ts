/**
 * One audit line, read back: parsed by JSON.parse and checked for the fields `warden audit`
 * shows and filters on (docs/audit.md); anything else is a bad line, said and skipped.
 */
import type { AuditRecord } from "../../audit/index.js";

export type Parsed =
  | { readonly ok: true; readonly record: AuditRecord; readonly ms: number }
  | { readonly ok: false; readonly why: string };

const PHASES = new Set(["decision", "outcome", "event"]);

export function parseAuditLine(text: string): Parsed {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    return { ok: false, why: `not JSON (${(e as Error).message})` };
  }
  if (v === null || typeof v !== "object" || Array.isArray(v))
    return { ok: false, why: "not a JSON object" };
  const r = v as Record<string, unknown>;
  if (typeof r.time !== "string") return { ok: false, why: 'no "time"' };
  const ms = Date.parse(r.time);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(r.time) || Number.isNaN(ms))
    return { ok: false, why: `"time" is not an ISO 8601 date-time` };
  if (typeof r.phase !== "string" || !PHASES.has(r.phase))
    return { ok: false, why: '"phase" is not decision, outcome or event' };
  if (r.decision !== "allow" && r.decision !== "deny")
    return { ok: false, why: '"decision" is not allow or deny' };
  if (typeof r.method !== "string") return { ok: false, why: 'no "method"' };
  for (const k of ["caller", "upstream", "name", "rule", "reason", "outcome", "kind", "code"])
    if (r[k] !== undefined && r[k] !== null && typeof r[k] !== "string")
      return { ok: false, why: `"${k}" is not a string` };
  if (r.duration_ms !== undefined && typeof r.duration_ms !== "number")
    return { ok: false, why: '"duration_ms" is not a number' };
  return { ok: true, record: r as unknown as AuditRecord, ms };
}
