/**
 * The readable table of `warden audit`: one row per line, fixed widths (rows can be printed as
 * they come, with --follow). Fields come from clients and upstreams: control characters and
 * bidirectional overrides are shown escaped (`\u001b`), so a line cannot drive the terminal.
 */
import type { AuditRecord } from "../../audit/index.js";

// C0 and C1 controls, DEL, and the Unicode format characters that reorder or hide text.
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g;

export function safe(s: string): string {
  return s.replace(UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

function cell(s: string, width: number): string {
  return s.length > width ? `${s.slice(0, width - 1)}…` : s.padEnd(width);
}

const COLUMNS = [
  ["TIME (UTC)", 23],
  ["VERDICT", 9],
  ["CALLER", 14],
  ["UPSTREAM", 14],
  ["METHOD / TOOL", 40],
  ["DURATION", 10],
] as const;

export function header(): string {
  return `${COLUMNS.map(([h, w], i) => (i === 5 ? h.padStart(w) : cell(h, w))).join(" ")} RULE / REASON`;
}

export function row(r: AuditRecord): string {
  const time = safe(r.time).replace("T", " ").replace(/Z$/, "");
  const verdict = safe(r.outcome ?? r.decision);
  const what =
    r.phase === "event" && r.kind !== undefined
      ? `${r.method} [${r.kind}]`
      : r.name === undefined
        ? r.method
        : `${r.method} ${r.name}`;
  const ms = typeof r.duration_ms === "number" ? `${r.duration_ms.toFixed(2)} ms` : "";
  const why = [
    r.rule,
    r.code,
    r.reason ?? (r.error === undefined ? undefined : `${r.error.code} ${r.error.message}`),
  ]
    .filter((x) => typeof x === "string" && x !== "")
    .join(" ");
  return [
    cell(time, 23),
    cell(verdict, 9),
    cell(safe(r.caller ?? "-"), 14),
    cell(safe(r.upstream ?? "-"), 14),
    cell(safe(what), 40),
    ms.padStart(10),
    safe(why),
  ].join(" ");
}
