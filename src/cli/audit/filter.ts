/** The filters of `warden audit`: --verdict, --tool (a name glob), --caller, --since. */
import type { AuditRecord } from "../../audit/index.js";
import { compileNameGlob } from "../../core/glob.js";
import { usageError } from "../output.js";

export interface FilterOptions {
  verdict?: string;
  tool?: string;
  caller?: string;
  since?: string;
}

export type Filter = (r: AuditRecord, ms: number) => boolean;

const UNITS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/**
 * `--since`: a duration back from `now` (`90s`, `10m`, `2h`, `7d`, `500ms`) or a date-time
 * (`2026-12-07T05:00:00Z`, `2026-12-07`): the earliest time shown, in ms since the epoch.
 */
export function parseSince(v: string, now = Date.now()): number {
  const d = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(v.trim());
  if (d) {
    const ms = Number(d[1]) * UNITS[d[2]!]!;
    if (ms > 0) return now - ms;
  } else if (/^\d{4}-\d{2}-\d{2}(?:[T ][\d:.]+(?:Z|[+-]\d{2}:?\d{2})?)?$/.test(v.trim())) {
    const t = Date.parse(v.trim());
    if (!Number.isNaN(t)) return t;
  }
  throw usageError(
    `--since ${JSON.stringify(v)}: write a duration back from now ("90s", "10m", "2h", "7d") or a date-time ("2026-12-07T05:00:00Z")`,
  );
}

export function makeFilter(o: FilterOptions, now = Date.now()): Filter {
  const tests: Filter[] = [];
  if (o.verdict !== undefined) {
    const v = o.verdict;
    if (v !== "allow" && v !== "deny")
      throw usageError(`--verdict ${JSON.stringify(v)}: write --verdict allow or --verdict deny`);
    tests.push((r) => r.decision === v);
  }
  if (o.tool !== undefined) {
    let test: (s: string) => boolean;
    try {
      test = compileNameGlob(o.tool);
    } catch (e) {
      throw usageError(
        `--tool ${JSON.stringify(o.tool)} is not a name glob (${(e as Error).message}): write e.g. --tool "files__*"`,
      );
    }
    tests.push((r) => typeof r.name === "string" && test(r.name));
  }
  if (o.caller !== undefined) {
    const c = o.caller;
    tests.push((r) => r.caller === c);
  }
  if (o.since !== undefined) {
    const from = parseSince(o.since, now);
    tests.push((_r, ms) => ms >= from);
  }
  return (r, ms) => tests.every((t) => t(r, ms));
}
