/**
 * One `warden run`: the agents that configured, the events they posted, the process tree, and
 * the deterministic end (the seed's): an agent is counted out only when its `/shutdown` is
 * handled, and an agent posts `/shutdown` only after its last batch was answered, so by then
 * every event it sent has been handled; `events_sent` is checked against what arrived.
 */
import { rank, VERDICTS, type Verdict } from "../core/decision.js";
import type {
  ChildReport,
  ConfigureAnswer,
  ConfigureRequest,
  JudgeAnswer,
  JudgeRequest,
  ReadyRequest,
  ReviewAnswer,
  ReviewRequest,
  ShutdownRequest,
  TraceEvent,
} from "./protocol.js";
import { BATCH_EVENTS, BATCH_MS } from "./protocol.js";
import type { TraceHandlers } from "./server.js";

export interface SessionOptions {
  readonly policy: { readonly text: string; readonly file: string };
  readonly sections: readonly string[];
  readonly reviewTimeoutMs: number;
  /** Each event, in the order handled; a promise holds the agent (a slow reader). */
  readonly onEvent: (e: TraceEvent) => undefined | Promise<void>;
  /** After each batch (and each event the CLI records itself): write what onEvent kept. */
  readonly onBatchEnd?: () => undefined | Promise<void>;
  readonly review: (e: TraceEvent) => Promise<ReviewAnswer>;
  /** `/judge` (the Python agent asks before each call): src/trace/python/judge.ts. */
  readonly judge?: (r: JudgeRequest) => JudgeAnswer;
}

export interface Proc {
  readonly pid: number;
  ppid: number;
  path: string;
  argv: readonly string[];
  /** An agent configured in it. */
  traced: boolean;
  /** Its agents' `/shutdown`s were all handled. */
  done: boolean;
  /** The agent put NODE_OPTIONS back for it. */
  envRestored: boolean;
}

interface AgentState {
  readonly pid: number;
  readonly thread: number;
  received: number;
  ready: boolean;
  out: boolean;
  /** events_sent at /shutdown minus events received: lost on the way (should be 0). */
  lost: number;
}

/** Blocks and reviews kept for the summary (the count is exact beyond it). */
const NOTABLE_MAX = 1000;

export class TraceSession implements TraceHandlers {
  readonly opts: SessionOptions;
  readonly t0 = process.hrtime.bigint();
  readonly counts: Record<Verdict, number> = Object.fromEntries(
    VERDICTS.map((v) => [v, 0]),
  ) as Record<Verdict, number>;
  readonly notable: TraceEvent[] = [];
  readonly procs = new Map<number, Proc>();
  readonly #agents = new Map<string, AgentState>();
  #active = 0;
  #closing = false;
  #idle: (() => void)[] = [];
  /** Reviews answered "no tty" (the summary says review meant deny). */
  reviewsWithoutTty = 0;
  /** The strictest verdict of any event (for --fail-on). */
  worst: Verdict = "allow";
  /** The run's `WARDEN_TRACE_CONFIG` value (src/trace/handoff.ts), when it handed one over. */
  handoff: string | undefined;
  /**
   * Reads the records agents spooled since the last read (src/trace/spool.ts) and handles them:
   * before each `/configure` posted (an agent that spooled first is handled in its order) and
   * while draining.
   */
  pullSpool: (() => void) | undefined;
  /** Processes killed for judging with a hand-over warden run did not give: their events are dropped. */
  readonly #forged = new Set<number>();

  constructor(opts: SessionOptions) {
    this.opts = opts;
  }

  get active(): number {
    return this.#active;
  }

  get agents(): readonly AgentState[] {
    return [...this.#agents.values()];
  }

  /** Events lost between an agent and here (sent by its count, not received). */
  get lost(): number {
    let n = 0;
    for (const a of this.#agents.values()) n += a.lost;
    return n;
  }

  get total(): number {
    let n = 0;
    for (const v of VERDICTS) n += this.counts[v];
    return n;
  }

  proc(pid: number): Proc {
    let p = this.procs.get(pid);
    if (p === undefined) {
      p = { pid, ppid: 0, path: "", argv: [], traced: false, done: false, envRestored: false };
      this.procs.set(pid, p);
    }
    return p;
  }

  configure(r: ConfigureRequest): ConfigureAnswer {
    // An agent that spooled its first records and then started its flusher thread: what it
    // spooled (written before the thread started) is handled before what it posts.
    this.pullSpool?.();
    if (r.config !== undefined && r.config !== this.handoff) return this.#forgery(r);
    const key = `${r.pid}:${r.thread_id}`;
    // A process that exec'd a new image configures again under the same pid: counted anew.
    if (this.#agents.get(key)?.out !== false) {
      this.#agents.set(key, {
        pid: r.pid,
        thread: r.thread_id,
        received: 0,
        ready: false,
        out: false,
        lost: 0,
      });
      this.#active++;
      this.proc(r.pid).done = false;
    }
    const p = this.proc(r.pid);
    p.traced = true;
    if (p.ppid === 0) p.ppid = r.ppid;
    if (p.argv.length === 0) p.argv = r.argv;
    return this.handoff === undefined ? this.answer() : { ...this.answer(), handoff: this.handoff };
  }

  /**
   * An agent that judged with a hand-over warden run did not give (a program set its own
   * `WARDEN_TRACE_CONFIG` and named an untraced process of its own as the giver): the process
   * is killed, reported as blocked, and what its agent reports is not taken (the strace layer
   * then sees its actions as unhooked).
   */
  #forgery(r: ConfigureRequest): ConfigureAnswer {
    this.#forged.add(r.pid);
    try {
      process.kill(r.pid, "SIGKILL");
    } catch {
      // gone already
    }
    const p = this.proc(r.pid);
    if (p.ppid === 0) p.ppid = r.ppid;
    if (p.argv.length === 0) p.argv = r.argv;
    this.record({
      hook_type: "nodejs",
      event_type: "enter",
      function: "warden:handoff",
      module: "warden",
      arguments: [{ index: 0, display: r.config ?? "" }],
      timestamp_ns: Number(process.hrtime.bigint() - this.t0),
      thread_id: r.thread_id,
      pid: r.pid,
      target: "WARDEN_TRACE_CONFIG",
      verdict: "block",
      reason:
        "the process judged with a policy warden run did not hand over (WARDEN_TRACE_CONFIG set by the program); killed",
    });
    return this.answer();
  }

  /** What `/configure` answers every agent (also handed over in a file: src/trace/handoff.ts). */
  answer(): ConfigureAnswer {
    return {
      policy: this.opts.policy,
      sections: this.opts.sections,
      t0: this.t0.toString(),
      batch_ms: BATCH_MS,
      batch_events: BATCH_EVENTS,
      review_timeout_ms: this.opts.reviewTimeoutMs,
    };
  }

  ready(r: ReadyRequest): void {
    const a = this.#agents.get(`${r.pid}:${r.thread_id}`);
    if (a !== undefined) a.ready = true;
  }

  events(batch: TraceEvent[]): undefined | Promise<void> {
    let wait: Promise<void> | undefined;
    // A batch comes from one agent: its state is looked up again only when the sender changes.
    let pid = -1;
    let thread = -1;
    let a: AgentState | undefined;
    for (const e of batch) {
      if (this.#forged.size > 0 && this.#forged.has(e.pid)) continue;
      if (e.pid !== pid || e.thread_id !== thread) {
        pid = e.pid;
        thread = e.thread_id;
        a = this.#agents.get(`${pid}:${thread}`);
      }
      if (a !== undefined) a.received++;
      this.#count(e);
      const w = this.opts.onEvent(e);
      if (w !== undefined) wait = w;
    }
    const end = this.opts.onBatchEnd?.();
    if (end === undefined) return wait;
    return wait === undefined ? end : Promise.all([wait, end]).then(() => undefined);
  }

  /** An event the CLI itself made (the program's own exec). */
  record(e: TraceEvent): void {
    this.#count(e);
    void this.opts.onEvent(e);
    void this.opts.onBatchEnd?.();
  }

  #count(e: TraceEvent): void {
    this.counts[e.verdict]++;
    if (rank(e.verdict) > rank(this.worst)) this.worst = e.verdict;
    if ((e.verdict === "block" || e.verdict === "review") && this.notable.length < NOTABLE_MAX)
      this.notable.push(e);
    if (e.review === "no_tty") this.reviewsWithoutTty++;
  }

  /** Ids for children whose pid is not known (execSync): negative, never signalled. */
  #unknown = 0;

  child(r: ChildReport): void {
    if (this.#forged.has(r.parent_pid)) return;
    const p = this.proc(r.child_pid > 0 ? r.child_pid : --this.#unknown);
    p.ppid = r.parent_pid;
    p.path = r.path;
    p.argv = r.argv;
    p.envRestored = r.env_restored === true;
  }

  judge(r: JudgeRequest): JudgeAnswer {
    if (this.opts.judge !== undefined) return this.opts.judge(r);
    const no = { verdict: "block", reason: "this warden run judges no /judge requests" } as const;
    return { fns: (r.fns ?? []).map(() => no), op: no };
  }

  review(r: ReviewRequest): Promise<ReviewAnswer> {
    return this.opts.review(r.event);
  }

  shutdown(r: ShutdownRequest): void {
    const a = this.#agents.get(`${r.pid}:${r.thread_id}`);
    if (a === undefined || a.out) return;
    this.#out(a, Math.max(0, r.events_sent - a.received));
  }

  #out(a: AgentState, lost: number): void {
    a.out = true;
    a.lost = lost;
    this.#active--;
    const p = this.procs.get(a.pid);
    if (p !== undefined && this.agents.every((x) => x.pid !== a.pid || x.out)) p.done = true;
    if (this.#active === 0) for (const f of this.#idle.splice(0)) f();
  }

  command(): { command: "shutdown" | null } {
    return { command: this.#closing ? "shutdown" : null };
  }

  /**
   * After the program exited: wait until every agent is counted out. An agent whose process is
   * gone without `/shutdown` (killed) is counted out when seen gone; one still running after
   * `lingerMs` (a daemon) is left, and reported.
   */
  async drain(lingerMs: number): Promise<{ left: number[] }> {
    const deadline = Date.now() + lingerMs;
    // Children reported but not (yet) traced, still running: one may still start an agent.
    const starting = () =>
      [...this.procs.values()].some((p) => !p.traced && p.pid > 0 && p.ppid !== 0 && alive(p.pid));
    for (;;) {
      // Seen gone before the spool is read: every record such a process wrote is read below.
      const gone = [...this.#agents.values()].filter((a) => !a.out && !alive(a.pid));
      this.pullSpool?.();
      for (const a of gone) if (!a.out) this.#out(a, 0);
      if ((this.#active === 0 && !starting()) || Date.now() >= deadline) break;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 50);
        this.#idle.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    this.#closing = true;
    return { left: this.agents.filter((a) => !a.out).map((a) => a.pid) };
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
