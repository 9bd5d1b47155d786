/**
 * What `warden run` shows: one line per judged event (verdict, what, the rule, pid), coloured
 * on a terminal; the summary at the end (events per verdict, every block and review with its
 * rule, the process tree); and the audit line of an event, in the gateway's shape
 * (docs/audit.md), so `warden audit` reads a trace too.
 */
import { randomUUID } from "node:crypto";
import type { AuditRecord } from "../audit/record.js";
import { rank, VERDICTS, type Verdict } from "../core/decision.js";
import type { TraceEvent } from "./protocol.js";
import type { Proc, TraceSession } from "./session.js";

const COLOR: Readonly<Record<Verdict, string>> = {
  allow: "\x1b[32m",
  suppress: "\x1b[2m",
  display: "\x1b[36m",
  warn: "\x1b[33m",
  review: "\x1b[35m",
  block: "\x1b[31m",
};
const RESET = "\x1b[0m";

/** Control characters of a traced program's strings, escaped: a path cannot drive the terminal. */
export function printable(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, (c) =>
    c === "\t" ? " " : `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/** `block  js:fs.readFileSync /home/u/.ssh/id_rsa  storage.deny[0] (p.yaml:4)  pid 12`. */
export function eventLine(e: TraceEvent, color: boolean): string {
  const v = e.verdict.padEnd(7);
  const what = [e.function, e.target, ...e.arguments.slice(1).map((a) => a.display)].join(" ");
  const rule =
    e.rule_id !== undefined
      ? `${e.rule_id} (${e.rule})`
      : e.verdict === "display" && e.reason === undefined
        ? "reported"
        : (e.reason ?? "");
  const review = e.review === undefined ? "" : ` [review: ${e.review}]`;
  const line = `${printable(what.length > 300 ? `${what.slice(0, 300)}…` : what)}  ${printable(rule)}${review}  pid ${e.pid}`;
  return color ? `${COLOR[e.verdict]}${v}${RESET} ${line}` : `${v} ${line}`;
}

/** Is the event shown as a line (display and stricter; every one with `verbose`)? */
export function shown(e: TraceEvent, verbose: boolean): boolean {
  return verbose || rank(e.verdict) >= rank("display");
}

export interface RunSummary {
  readonly events: number;
  readonly verdicts: Readonly<Record<Verdict, number>>;
  readonly notable: readonly {
    verdict: Verdict;
    function: string;
    target: string;
    rule?: string;
    rule_id?: string;
    reason?: string;
    pid: number;
    review?: string;
  }[];
  readonly processes: readonly {
    pid: number;
    ppid: number;
    argv: readonly string[];
    traced: boolean;
  }[];
  readonly agents: number;
  readonly lost: number;
  /** Spool records warden run could not read (their events are lost; src/trace/spool.ts). */
  readonly lost_records?: number;
  readonly still_running: readonly number[];
  readonly reviews_without_tty: number;
  readonly exit_code: number;
  readonly not_seen: readonly string[];
}

/** The Python agent's blind spots (docs/trace.md, "Not seen by the Python agent"). */
export const PYTHON_NOT_SEEN = [
  "Python: system calls made by C extensions themselves (sqlite3 opening a file SQL attaches) and by library functions called through ctypes or cffi (ctypes.dlopen is reported, the calls after it are not)",
  "Python: os calls that raise no audit event (os.stat, os.access, os.readlink, os.environ reads, os.write on a descriptor already open) and functions the python section names that raise none (getpass.getpass)",
  "Python: processes started with python -I, -E or -S run without the agent (their exec is judged by the parent)",
] as const;

/** What no agent of this run could see (docs/trace.md, "What is not seen"). */
export const NOT_SEEN = [
  "system calls of programs without an agent (shells, native binaries, statically linked programs) other than their exec",
  "system calls made by native addons themselves",
  ...PYTHON_NOT_SEEN,
] as const;

export function summaryOf(s: TraceSession, exitCode: number, left: readonly number[]): RunSummary {
  return {
    events: s.total,
    verdicts: { ...s.counts },
    notable: s.notable.map((e) => ({
      verdict: e.verdict,
      function: e.function,
      target: e.target,
      ...(e.rule !== undefined ? { rule: e.rule } : {}),
      ...(e.rule_id !== undefined ? { rule_id: e.rule_id } : {}),
      ...(e.reason !== undefined ? { reason: e.reason } : {}),
      pid: e.pid,
      ...(e.review !== undefined ? { review: e.review } : {}),
    })),
    processes: [...s.procs.values()].map((p) => ({
      pid: p.pid,
      ppid: p.ppid,
      argv: p.argv,
      traced: p.traced,
    })),
    agents: s.agents.length,
    lost: s.lost,
    still_running: left,
    reviews_without_tty: s.reviewsWithoutTty,
    exit_code: exitCode,
    not_seen: NOT_SEEN,
  };
}

/** The summary as text (stderr). */
export function summaryText(r: RunSummary, color: boolean): string {
  const out: string[] = [];
  const per = VERDICTS.slice()
    .reverse()
    .filter((v) => r.verdicts[v] > 0)
    .map((v) => `${r.verdicts[v]} ${v}`)
    .join(", ");
  out.push(
    `warden run: ${r.events} events (${per || "none"}) from ${r.agents} traced thread(s); exit ${r.exit_code}`,
  );
  for (const n of r.notable) {
    const rule = n.rule_id !== undefined ? `${n.rule_id} (${n.rule})` : (n.reason ?? "");
    const v = color ? `${COLOR[n.verdict]}${n.verdict}${RESET}` : n.verdict;
    out.push(
      `  ${v} ${printable(`${n.function} ${n.target}`)}  ${printable(rule)}${n.review ? ` [review: ${n.review}]` : ""}  pid ${n.pid}`,
    );
  }
  if (r.reviews_without_tty > 0)
    out.push(
      `  no terminal: ${r.reviews_without_tty} review(s) were denied (review means deny without a tty)`,
    );
  if (r.lost > 0) out.push(`  LOST: ${r.lost} event(s) sent by agents never arrived`);
  if (r.lost_records !== undefined && r.lost_records > 0)
    out.push(
      `  LOST: ${r.lost_records} spool record(s) could not be read; the events in them are lost`,
    );
  if (r.still_running.length > 0)
    out.push(`  still running, not followed to the end: pid ${r.still_running.join(", ")}`);
  out.push("process tree:");
  out.push(...treeLines(r.processes));
  out.push(`not seen: ${r.not_seen.join("; ")}`);
  return `${out.join("\n")}\n`;
}

function treeLines(procs: RunSummary["processes"]): string[] {
  const byParent = new Map<number, (typeof procs)[number][]>();
  const pids = new Set(procs.map((p) => p.pid));
  for (const p of procs) {
    const parent = pids.has(p.ppid) ? p.ppid : 0;
    let l = byParent.get(parent);
    if (l === undefined) byParent.set(parent, (l = []));
    l.push(p);
  }
  const lines: string[] = [];
  const seen = new Set<number>();
  const walk = (parent: number, depth: number) => {
    for (const p of byParent.get(parent) ?? []) {
      if (seen.has(p.pid)) continue;
      seen.add(p.pid);
      const argv = printable(p.argv.join(" "));
      const id = p.pid > 0 ? String(p.pid) : "?";
      lines.push(
        `  ${"  ".repeat(depth)}${id} ${argv.length > 160 ? `${argv.slice(0, 160)}…` : argv}${p.traced ? "" : " (no agent)"}`,
      );
      if (depth < 64) walk(p.pid, depth + 1);
    }
  };
  walk(0, 0);
  return lines;
}

/** The time of the last audit line, kept for the lines in the same millisecond (a flood). */
let lastMs = 0;
let lastIso = "";

function isoNow(): string {
  const ms = Date.now();
  if (ms !== lastMs) {
    lastMs = ms;
    lastIso = new Date(ms).toISOString();
  }
  return lastIso;
}

/** The audit line of an event: the gateway's shape (decision line; `caller` is the pid). */
export function auditRecord(e: TraceEvent, run: string, program: string): AuditRecord {
  const rec: AuditRecord = {
    time: isoNow(),
    call_id: randomUUID(),
    phase: "decision",
    caller: `pid:${e.pid}`,
    session: run,
    upstream: program,
    method: e.function,
    name: e.target,
    decision:
      e.verdict === "block" || (e.verdict === "review" && e.review !== "allowed")
        ? "deny"
        : "allow",
    verdict: e.verdict,
    duration_ms: 0,
  };
  if (e.rule !== undefined) rec.rule = e.rule;
  if (e.rule_id !== undefined) rec.rule_id = e.rule_id;
  if (e.reason !== undefined) rec.reason = e.reason;
  if (e.arguments.length > 1) rec.arguments = e.arguments.map((a) => a.display);
  return rec;
}

export type { Proc };
