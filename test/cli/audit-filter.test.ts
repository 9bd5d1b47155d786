// The filters of `warden audit` (src/cli/audit/filter.ts): --since forms, --verdict, --tool
// globs (the policy's name-glob dialect), --caller. The CLI runs them in test/cli/audit.test.ts.
import { describe, expect, it } from "vitest";
import type { AuditRecord } from "../../src/audit/index.js";
import { makeFilter, parseSince } from "../../src/cli/audit/filter.js";
import { isWardenError } from "../../src/core/errors.js";

const NOW = Date.parse("2026-12-07T06:00:00.000Z");

function refused(v: string): string {
  try {
    parseSince(v, NOW);
  } catch (e) {
    expect(isWardenError(e) && e.code).toBe("usage");
    return (e as Error).message;
  }
  throw new Error(`--since ${v} was taken`);
}

describe("--since", () => {
  it("takes a duration back from now, in ms, s, m, h or d", () => {
    expect(parseSince("500ms", NOW)).toBe(NOW - 500);
    expect(parseSince("90s", NOW)).toBe(NOW - 90_000);
    expect(parseSince("10m", NOW)).toBe(NOW - 600_000);
    expect(parseSince("1.5h", NOW)).toBe(NOW - 5_400_000);
    expect(parseSince("7d", NOW)).toBe(NOW - 7 * 86_400_000);
  });

  it("takes a date or an ISO 8601 date-time", () => {
    expect(parseSince("2026-12-07T05:00:00Z", NOW)).toBe(Date.parse("2026-12-07T05:00:00Z"));
    expect(parseSince("2026-12-07T05:00:00.250+01:00", NOW)).toBe(
      Date.parse("2026-12-07T04:00:00.250Z"),
    );
    expect(parseSince("2026-12-07", NOW)).toBe(Date.parse("2026-12-07"));
  });

  it("refuses anything else, saying what to write", () => {
    for (const v of [
      "",
      "10",
      "10x",
      "-5m",
      "0m",
      "0s",
      "m",
      "yesterday",
      "10 minutes",
      "2026-13-45",
      "2026-12-07T25:00:00Z",
      "Dec 7 2026",
      "1e3s",
    ])
      expect(refused(v), v).toContain(
        `--since ${JSON.stringify(v)}: write a duration back from now`,
      );
  });
});

const rec = (over: Partial<AuditRecord>): AuditRecord => ({
  time: "2026-12-07T05:59:00.000Z",
  call_id: "c",
  phase: "decision",
  caller: "ada",
  session: "s",
  upstream: "files",
  method: "tools/call",
  name: "files__read_file",
  decision: "allow",
  duration_ms: 1,
  ...over,
});

describe("makeFilter", () => {
  it("--tool matches the name as the policy's name globs do (* crosses /), and never a line without a name", () => {
    const f = makeFilter({ tool: "files__*" }, NOW);
    expect(f(rec({}), 0)).toBe(true);
    expect(f(rec({ name: "search__web" }), 0)).toBe(false);
    expect(f(rec({ name: undefined }), 0)).toBe(false);
    expect(makeFilter({ tool: "calc/*" }, NOW)(rec({ name: "calc/a/b" }), 0)).toBe(true);
    expect(makeFilter({ tool: "{read,write}_*" }, NOW)(rec({ name: "write_x" }), 0)).toBe(true);
  });

  it("combines --verdict, --caller and --since: all must hold", () => {
    const f = makeFilter({ verdict: "deny", caller: "ada", since: "10m" }, NOW);
    const t = Date.parse("2026-12-07T05:59:00.000Z");
    expect(f(rec({ decision: "deny" }), t)).toBe(true);
    expect(f(rec({ decision: "allow" }), t)).toBe(false);
    expect(f(rec({ decision: "deny", caller: "bob" }), t)).toBe(false);
    expect(f(rec({ decision: "deny" }), NOW - 11 * 60_000)).toBe(false);
  });

  it("refuses a verdict other than allow or deny, and a glob that does not compile", () => {
    expect(() => makeFilter({ verdict: "block" })).toThrow(
      '--verdict "block": write --verdict allow or --verdict deny',
    );
    expect(() => makeFilter({ tool: "a]" })).toThrow('--tool "a]" is not a name glob');
  });
});
