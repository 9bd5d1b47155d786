/**
 * Correlation of what strace saw with what the agents reported (docs/trace.md, "Unhooked"):
 * each syscall worth checking (judge.ts) waits until an agent's report explains it or until no
 * report can still come; then it is "unhooked": done by the program, seen by the kernel, told
 * by no agent (a program without an agent, a static binary, a raw syscall, a hook bypassed).
 *
 * A report explains a syscall when it comes from the same process (thread ids are mapped to
 * their process through strace's clone lines) and:
 * - exec: the process's agent configured (a traced Node or Python process reports itself), or
 *   it is the process's first exec and its parent's agent reported starting it (`/child` with
 *   its pid, or a spawn event / pid-less `/child` from the parent naming the same program), or
 *   it is the program `warden run` started;
 * - open: a file event of the process names the same path (as given or as opened), at most
 *   30 s before;
 * - connect: a network event of the process with the same port (and the same address when the
 *   report names an address), at most 60 s before; a connect to port 53 is explained by any
 *   name lookup or network event of the process.
 * A syscall is decided, after a grace of 1.5 s, only once no report that explains it can still
 * come, never on a timer alone (under load an agent's batch can arrive seconds late): an open
 * or connect once its process has no agent, was counted out (every `/shutdown` of it handled:
 * its last batch is in), or every thread of it that reports has reported something later
 * (batches of one thread arrive in order); an exec once its process exited without
 * configuring an agent and the parent's agent is caught up the same way. Everything left is
 * decided when the run ends (all agents counted out).
 */
import { basename, resolve } from "node:path";
import type { TraceEvent } from "../protocol.js";
import type { Checked, StraceJudge } from "./judge.js";
import type { StraceRecord } from "./parse.js";

/** What the correlator reads of the session: the processes the agents told about. */
export interface AgentsView {
  readonly procs: ReadonlyMap<
    number,
    {
      readonly ppid: number;
      readonly path: string;
      readonly traced: boolean;
      /** Every agent of it was counted out (its last batch handled). */
      readonly done?: boolean;
    }
  >;
}

export const GRACE_MS = 1_500;
const FILE_WINDOW_NS = 30e9;
const NET_WINDOW_NS = 60e9;
/** Clock skew allowed between strace's wall clock and the agents' monotonic one. */
const SKEW_NS = 250e6;
/** Reports kept per process and kind (the oldest are dropped first). */
const KEEP = 4_096;

interface Pending {
  readonly rec: StraceRecord;
  readonly checked: Checked;
  readonly pid: number;
  readonly ts: number;
  readonly readAt: number;
  /** For an exec: its number among the process's successful execs (1: the first). */
  readonly execNo: number;
}

interface Reports {
  files: Map<string, number[]>;
  nets: { ts: number; host: string; port: number | undefined }[];
  lookups: number[];
  execs: { ts: number; base: string; used: boolean }[];
  /** The latest timestamp each thread of the process reported (thread_id: ns). */
  watermarks: Map<number, number>;
}

export interface CorrelationStats {
  /** Syscall lines read (records understood). */
  records: number;
  /** Worth checking (judge.ts). */
  checked: number;
  /** Explained by an agent's report. */
  hooked: number;
  /** Reported by no agent. */
  unhooked: number;
  /** Of those, programs a program without an agent started, as the policy allows (`suppress`). */
  quiet: number;
  /** Lines strace printed that the parser did not use. */
  skipped: number;
}

const EXEC_FN = /child_process|subprocess|spawn|exec|popen|system|fork/i;
const DNS_FN = /dns|lookup|getaddrinfo|resolve/i;

function normIp(h: string): string {
  const s = h.startsWith("[") && h.endsWith("]") ? h.slice(1, -1) : h;
  return s.toLowerCase().replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, "$1");
}

function isIp(h: string): boolean {
  const s = normIp(h);
  return /^\d+\.\d+\.\d+\.\d+$/.test(s) || s.includes(":");
}

export class Correlator {
  readonly #judge: StraceJudge;
  readonly #agents: AgentsView;
  readonly #root: number;
  readonly #wallAtT0: bigint;
  readonly #emit: (e: TraceEvent) => void;
  readonly #tgid = new Map<number, number>();
  readonly #parent = new Map<number, number>();
  readonly #execs = new Map<number, number>();
  readonly #exited = new Set<number>();
  /** The last program each process exec'd (for the process tree). */
  readonly #images = new Map<number, readonly string[]>();
  readonly #reports = new Map<number, Reports>();
  #pending: Pending[] = [];
  readonly stats: CorrelationStats = {
    records: 0,
    checked: 0,
    hooked: 0,
    unhooked: 0,
    quiet: 0,
    skipped: 0,
  };

  /**
   * `t0`: the run's `process.hrtime.bigint()` origin (agents' timestamps count from it);
   * `root`: the pid of the program warden run started; `emit`: each unhooked syscall.
   */
  constructor(
    judge: StraceJudge,
    agents: AgentsView,
    t0: bigint,
    root: number,
    emit: (e: TraceEvent) => void,
  ) {
    this.#judge = judge;
    this.#agents = agents;
    this.#root = root;
    this.#emit = emit;
    this.#wallAtT0 = BigInt(Date.now()) * 1_000_000n - (process.hrtime.bigint() - t0);
    this.#tgid.set(root, root);
  }

  /** The process (thread group) of a task. */
  #pidOf(tid: number): number {
    const known = this.#tgid.get(tid);
    if (known !== undefined) return known;
    return tid;
  }

  #reportsOf(pid: number): Reports {
    let r = this.#reports.get(pid);
    if (r === undefined) {
      r = { files: new Map(), nets: [], lookups: [], execs: [], watermarks: new Map() };
      this.#reports.set(pid, r);
    }
    return r;
  }

  /** An event an agent reported (any event: the ones worth matching are kept). */
  agentEvent(e: TraceEvent): void {
    if (e.pid <= 0) return;
    const r = this.#reportsOf(e.pid);
    const t = e.timestamp_ns;
    if (t > (r.watermarks.get(e.thread_id) ?? -1)) r.watermarks.set(e.thread_id, t);
    if (e.network_info?.port !== undefined) {
      if (r.nets.length >= KEEP) r.nets.shift();
      r.nets.push({ ts: t, host: e.network_info.host ?? e.target, port: e.network_info.port });
    } else if (e.module === "child_process" || e.hook_type === "exec" || EXEC_FN.test(e.function)) {
      if (r.execs.length >= KEEP) r.execs.shift();
      r.execs.push({ ts: t, base: basename(e.target), used: false });
    } else if (e.module === "dns" || DNS_FN.test(e.function)) {
      if (r.lookups.length >= KEEP) r.lookups.shift();
      r.lookups.push(t);
    } else if (e.target.startsWith("/")) {
      let l = r.files.get(e.target);
      if (l === undefined) {
        if (r.files.size >= KEEP) r.files.delete(r.files.keys().next().value as string);
        r.files.set(e.target, (l = []));
      }
      if (l.length >= 64) l.shift();
      l.push(t);
    } else if (/^https?:/.test(e.target) || e.module === "net" || e.module === "http") {
      if (r.nets.length >= KEEP) r.nets.shift();
      r.nets.push({ ts: t, host: "", port: undefined });
    }
  }

  /** A record strace printed. */
  straceRecord(rec: StraceRecord): void {
    this.stats.records++;
    switch (rec.kind) {
      case "spawn": {
        const pid = this.#pidOf(rec.tid);
        if (rec.thread) this.#tgid.set(rec.child, pid);
        else {
          this.#tgid.set(rec.child, rec.child);
          this.#parent.set(rec.child, pid);
        }
        return;
      }
      case "exit": {
        if (this.#pidOf(rec.tid) === rec.tid) this.#exited.add(rec.tid);
        return;
      }
      default:
        break;
    }
    const pid = this.#pidOf(rec.tid);
    let execNo = 0;
    if (rec.kind === "exec" && rec.ok) {
      execNo = (this.#execs.get(pid) ?? 0) + 1;
      this.#execs.set(pid, execNo);
      // A thread that execs becomes its process's only task.
      this.#tgid.set(rec.tid, pid);
      if (this.#images.size < 100_000)
        this.#images.set(pid, rec.argv.length > 0 ? rec.argv : [rec.path]);
    }
    const checked = this.#judge.check(rec);
    if (checked === undefined) return;
    this.stats.checked++;
    this.#pending.push({
      rec,
      checked,
      pid,
      ts: Number(rec.wallNs - this.#wallAtT0),
      readAt: Date.now(),
      execNo,
    });
  }

  /** Decide what can be decided now (called often), or everything (`final`: the run ended). */
  settle(final = false, now = Date.now()): void {
    const keep: Pending[] = [];
    for (const p of this.#pending) {
      if (this.#explained(p)) {
        this.stats.hooked++;
        continue;
      }
      if (final || this.#settled(p, now)) {
        this.stats.unhooked++;
        const e = this.#event(p);
        if (e.verdict === "suppress") this.stats.quiet++;
        this.#emit(e);
        continue;
      }
      keep.push(p);
    }
    this.#pending = keep;
  }

  /** Processes strace saw exec a program: pid, parent (by strace's clone lines), argv. */
  processes(): { pid: number; ppid: number; argv: readonly string[] }[] {
    // A fork that exec'd nothing (a subshell) is skipped: its children go under its parent.
    const shown = (q: number) =>
      q === this.#root || this.#images.has(q) || this.#agents.procs.has(q);
    return [...this.#images].map(([pid, argv]) => {
      let q = this.#parent.get(pid);
      for (let i = 0; q !== undefined && !shown(q) && i < 64; i++) q = this.#parent.get(q);
      return { pid, ppid: q ?? 0, argv };
    });
  }

  /** Processes strace saw start, not seen end, and still alive (they outlive the run). */
  running(): number[] {
    const out: number[] = [];
    for (const [tid, pid] of this.#tgid)
      if (tid === pid && !this.#exited.has(pid) && alive(pid)) out.push(pid);
    return out;
  }

  get pending(): number {
    return this.#pending.length;
  }

  #settled(p: Pending, now: number): boolean {
    if (now - p.readAt < GRACE_MS) return false;
    if (p.rec.kind === "exec") {
      // Its own agent configures before the program runs: once it exited, none will.
      if (!this.#exited.has(p.pid)) return false;
      const parent = this.#parent.get(p.pid);
      return parent === undefined || this.#caughtUp(parent, p.ts);
    }
    return this.#caughtUp(p.pid, p.ts);
  }

  /** Can the agent of process `pid` still report something that happened at `ts`? */
  #caughtUp(pid: number, ts: number): boolean {
    const proc = this.#agents.procs.get(pid);
    if (proc === undefined || !proc.traced) return true;
    // Counted out: its last batch was handled. (Its exit alone is not enough: an agent that
    // gave up waiting for the CLI at exit may still have a batch on the way.)
    if (proc.done === true) return true;
    const marks = this.#reports.get(pid)?.watermarks;
    if (marks === undefined || marks.size === 0) return false;
    for (const m of marks.values()) if (m < ts + SKEW_NS) return false;
    return true;
  }

  /**
   * An exec the policy allows, by a process no agent reported, whose parent has no agent
   * either: a shell's or a build tool's own programs. Still unhooked (counted, audited, listed
   * with --verbose), not a line of its own: they would flood the output of any build.
   */
  #quiet(p: Pending): boolean {
    if (p.rec.kind !== "exec") return false;
    const procs = this.#agents.procs;
    const own = procs.get(p.pid);
    if (p.pid === this.#root || own?.traced === true || (own?.path ?? "") !== "") return false;
    const parent = this.#parent.get(p.pid);
    return parent === undefined || procs.get(parent)?.traced !== true;
  }

  #explained(p: Pending): boolean {
    const rec = p.rec;
    if (rec.kind === "exec") {
      const proc = this.#agents.procs.get(p.pid);
      if (proc?.traced === true) return true;
      if (p.execNo !== 1) return false;
      if (p.pid === this.#root) return true;
      if (proc !== undefined && proc.path !== "") return true;
      const parent = this.#parent.get(p.pid);
      if (parent === undefined) return false;
      const base = basename(rec.path);
      const r = this.#reports.get(parent);
      const hit = r?.execs.find(
        (x) =>
          !x.used &&
          (x.base === base || x.base === basename(rec.argv[0] ?? "")) &&
          x.ts <= p.ts + SKEW_NS &&
          x.ts >= p.ts - NET_WINDOW_NS,
      );
      if (hit !== undefined) {
        hit.used = true;
        return true;
      }
      // A pid-less /child (execSync) from the parent naming the same program.
      for (const [id, c] of this.#agents.procs)
        if (id < 0 && c.ppid === parent && basename(c.path) === base) return true;
      return false;
    }
    const r = this.#reports.get(p.pid);
    if (r === undefined) return false;
    const inWindow = (ts: number, w: number) => ts <= p.ts + SKEW_NS && ts >= p.ts - w;
    if (rec.kind === "open") {
      const names = new Set([resolve(rec.path), p.checked.op.target]);
      if (rec.opened !== undefined) names.add(rec.opened);
      for (const n of names)
        if (r.files.get(n)?.some((ts) => inWindow(ts, FILE_WINDOW_NS)) === true) return true;
      return false;
    }
    if (rec.kind === "connect") {
      if (rec.port === 53 && r.lookups.some((ts) => inWindow(ts, NET_WINDOW_NS))) return true;
      const ip = normIp(rec.ip);
      return r.nets.some(
        (n) =>
          inWindow(n.ts, NET_WINDOW_NS) &&
          ((n.port === undefined && rec.port !== 53) ||
            (n.port === rec.port && (!isIp(n.host) || normIp(n.host) === ip)) ||
            (rec.port === 53 && n.host !== "" && !isIp(n.host))),
      );
    }
    return false;
  }

  #event(p: Pending): TraceEvent {
    const rec = p.rec;
    const c = p.checked;
    const d = c.decision;
    const wouldBe =
      c.verdict === "allow" ? "allowed" : c.verdict === "block" ? "blocked" : c.verdict;
    const notAllowed = c.verdict !== "allow" && c.verdict !== "display" && c.verdict !== "suppress";
    const syscall = rec.kind === "exec" || rec.kind === "open" ? rec.syscall : "connect";
    const args: { index: number; display: string }[] = [{ index: 0, display: c.op.target }];
    if (rec.kind === "exec")
      for (let i = 1; i < rec.argv.length; i++) args.push({ index: i, display: rec.argv[i]! });
    else if (rec.kind === "open") args.push({ index: 1, display: rec.flags });
    else if (rec.kind === "connect") args.push({ index: 1, display: `port ${rec.port}` });
    const why =
      d === undefined
        ? "no policy section judges it"
        : `the policy would have ${wouldBe} it (${d.ruleId !== undefined ? `${d.ruleId} at ${d.rule}` : d.reason})`;
    return {
      hook_type: "native",
      event_type: "enter",
      function: `unhooked:${syscall}`,
      module: "strace",
      arguments: args,
      timestamp_ns: p.ts,
      thread_id: rec.tid,
      pid: p.pid,
      ...(rec.kind === "connect" ? { network_info: { host: rec.ip, port: rec.port } } : {}),
      target: c.op.target,
      verdict:
        notAllowed || (c.op.kind !== "exec" && d === undefined)
          ? "warn"
          : this.#quiet(p)
            ? "suppress"
            : "display",
      ...(d?.rule !== undefined ? { rule: d.rule } : {}),
      ...(d?.ruleId !== undefined ? { rule_id: d.ruleId } : {}),
      reason: `unhooked: strace saw ${syscall}${rec.kind === "open" && rec.error !== undefined ? ` (${rec.error})` : ""}, no agent reported it; ${why}`,
    };
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}
