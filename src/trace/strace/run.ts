/**
 * The strace layer as `warden run` uses it: chosen once (`--strace` requires it, `--no-strace`
 * turns it off, by default it runs where strace works), wrapped around the program's command,
 * fed with strace's lines and the agents' events while the program runs, finished after the
 * agents drained, and summarized.
 */
import { existsSync } from "node:fs";
import type { CompiledPolicy } from "../../policy/policy.js";
import type { TraceEvent } from "../protocol.js";
import { type AgentsView, Correlator } from "./correlate.js";
import { StraceJudge } from "./judge.js";
import { StraceLayer } from "./layer.js";
import { probeStrace, which } from "./probe.js";
import {
  notSeen,
  type StraceMode,
  type StraceSummary,
  UNHOOKED_KEPT,
  unhookedEntry,
} from "./status.js";

/** How often pending syscalls are looked at while the program runs. */
const TICK_MS = 200;

export class StraceRun {
  readonly mode: StraceMode;
  readonly #layer: StraceLayer | undefined;
  readonly #reason: string | undefined;
  #correlator: Correlator | undefined;
  #ticker: NodeJS.Timeout | undefined;
  #complete: boolean | undefined;
  #following: number[] = [];
  readonly #unhooked: StraceSummary["unhooked"][number][] = [];

  private constructor(mode: StraceMode, layer: StraceLayer | undefined, reason?: string) {
    this.mode = mode;
    this.#layer = layer;
    this.#reason = reason;
  }

  /** Probe strace (unless off). `on` with no usable strace: `unavailable` says why. */
  static prepare(mode: StraceMode): StraceRun {
    if (mode === "off") return new StraceRun(mode, undefined);
    const p = probeStrace();
    if (!p.ok) return new StraceRun(mode, undefined, p.reason);
    const layer = StraceLayer.create(p.setup);
    if (typeof layer === "string") return new StraceRun(mode, undefined, layer);
    return new StraceRun(mode, layer);
  }

  /** Why strace will not run, when it will not (and was not turned off). */
  get unavailable(): string | undefined {
    return this.mode !== "off" && this.#layer === undefined ? this.#reason : undefined;
  }

  get active(): boolean {
    return this.#layer !== undefined;
  }

  /**
   * The command to spawn: under strace when active. A program that cannot be found is left
   * as it is, so that starting it fails as it would without strace (command not found).
   */
  command(program: readonly string[]): string[] {
    const file = program[0] ?? "";
    const found = file.includes("/") ? existsSync(file) : which(file) !== undefined;
    return this.#layer === undefined || !found ? [...program] : this.#layer.command(program);
  }

  /**
   * The program started (pid `root`): read strace's output and correlate it with the agents'
   * events; each unhooked syscall goes to `emit` (as an event: live line, audit, counts).
   */
  attach(o: {
    root: number;
    policy: CompiledPolicy;
    sections: readonly string[];
    serverPort: number;
    /** Files and folders Warden itself reads in traced processes (never flagged). */
    own?: readonly string[];
    /** Files the agents write (the run's spool). */
    ownWritten?: readonly string[];
    agents: AgentsView;
    t0: bigint;
    emit: (e: TraceEvent) => void;
  }): void {
    const layer = this.#layer;
    if (layer === undefined) return;
    const judge = new StraceJudge(o.policy, o.sections, o.serverPort, o.own, o.ownWritten);
    const c = new Correlator(judge, o.agents, o.t0, o.root, (e) => {
      if (this.#unhooked.length < UNHOOKED_KEPT && e.verdict !== "suppress")
        this.#unhooked.push(unhookedEntry(e));
      o.emit(e);
    });
    this.#correlator = c;
    layer.read((r) => c.straceRecord(r));
    this.#ticker = setInterval(() => c.settle(), TICK_MS);
    this.#ticker.unref();
  }

  /** An agent's event (the correlator's evidence). */
  agentEvent(e: TraceEvent): void {
    if (e.module !== "strace") this.#correlator?.agentEvent(e);
  }

  /** After the agents drained: wait for strace's last lines (at most `ms`), decide the rest. */
  async finish(ms: number): Promise<void> {
    if (this.#layer === undefined) return;
    this.#complete = await this.#layer.finish(ms);
    if (this.#layer.handedOff) this.#following = this.#correlator?.running() ?? [];
    clearInterval(this.#ticker);
    this.#correlator?.settle(true);
  }

  summary(): StraceSummary {
    const layer = this.#layer;
    const c = this.#correlator;
    if (layer === undefined)
      return {
        state: this.mode === "off" ? "off" : "unavailable",
        ...(this.#reason !== undefined ? { reason: this.#reason } : {}),
        unhooked: [],
      };
    return {
      state: "on",
      version: layer.setup.version,
      seccomp: layer.setup.seccomp,
      ...(this.#complete !== undefined ? { complete: this.#complete } : {}),
      ...(this.#following.length > 0 ? { following: this.#following } : {}),
      ...(c !== undefined ? { stats: { ...c.stats, skipped: layer.parser.skipped } } : {}),
      unhooked: this.#unhooked,
    };
  }

  /**
   * The process tree with the processes strace saw and no agent told about (a shell's
   * children, what a static binary started), untraced, under their parent.
   */
  processes<P extends { pid: number; ppid: number; argv: readonly string[]; traced: boolean }>(
    known: readonly P[],
  ): (P | { pid: number; ppid: number; argv: readonly string[]; traced: boolean })[] {
    const c = this.#correlator;
    if (c === undefined) return [...known];
    const have = new Set(known.map((p) => p.pid));
    const more = c
      .processes()
      .filter((p) => !have.has(p.pid))
      .map((p) => ({ ...p, traced: false }));
    // A child an agent reported without its pid (execSync) is the one strace saw with it.
    const same = (a: readonly string[], b: readonly string[]) => a.join("\0") === b.join("\0");
    const kept = known.filter(
      (k) => k.pid > 0 || !more.some((m) => m.ppid === k.ppid && same(m.argv, k.argv)),
    );
    return [...kept, ...more];
  }

  notSeen(): string[] {
    return notSeen(this.summary());
  }
}
