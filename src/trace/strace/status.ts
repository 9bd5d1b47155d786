/**
 * What the run summary says of the strace layer: whether it ran (and why not), what it
 * counted, the unhooked syscalls, and what is still not seen (docs/trace.md, "Limits").
 */
import { NOT_SEEN, printable } from "../output.js";
import type { TraceEvent } from "../protocol.js";
import type { CorrelationStats } from "./correlate.js";

export type StraceMode = "auto" | "on" | "off";

export interface StraceSummary {
  /** `on`: it ran; `off`: --no-strace; `unavailable`: not installed or not permitted. */
  readonly state: "on" | "off" | "unavailable";
  readonly reason?: string;
  readonly version?: string;
  readonly seccomp?: boolean;
  /** strace ended with the program (false: stopped early or still running at the end). */
  readonly complete?: boolean;
  /**
   * Processes strace still follows when the run ends (they outlived `--linger`): strace goes on
   * with them, its output discarded, so their system calls keep working (under --seccomp-bpf a
   * tracee that loses its tracer gets ENOSYS from the syscalls strace traced).
   */
  readonly following?: readonly number[];
  readonly stats?: CorrelationStats;
  /**
   * The unhooked syscalls shown as lines (the first 1,000; `stats.unhooked` counts them all,
   * `stats.quiet` those of programs started by programs without an agent, not listed here).
   */
  readonly unhooked: readonly {
    function: string;
    target: string;
    pid: number;
    verdict: string;
    reason?: string;
  }[];
}

/** What no layer of this run saw. */
export function notSeen(s: StraceSummary): string[] {
  if (s.state === "on")
    return [
      "system calls other than exec, open and connect of programs without an agent (reads and writes on descriptors they already hold, unlink, rename, sendto without connect, local sockets)",
      "opens the policy allows and system files (the loader, locale, resolver files: docs/trace.md) are not checked",
      "strace sees, it does not block: an unhooked action has already happened",
      "the agents' blind spots beyond the execs, connects and checked opens strace sees: system calls made by native addons and Python C extensions themselves, library functions called through ctypes or cffi, Python os calls that raise no audit event, processes started with python -I, -E or -S",
    ];
  return [...NOT_SEEN, "raw system calls and bypassed hooks (no strace layer)"];
}

export const UNHOOKED_KEPT = 1000;

/** An unhooked event as the summary lists it. */
export function unhookedEntry(e: TraceEvent): StraceSummary["unhooked"][number] {
  return {
    function: e.function,
    target: e.target,
    pid: e.pid,
    verdict: e.verdict,
    ...(e.reason !== undefined ? { reason: e.reason } : {}),
  };
}

/** The summary's strace lines (text). */
export function straceText(s: StraceSummary): string {
  const out: string[] = [];
  if (s.state === "on") {
    const st = s.stats;
    out.push(
      `strace ${s.version ?? ""}${s.seccomp === true ? " (seccomp-bpf)" : ""}: ${st?.checked ?? 0} syscall(s) checked, ${st?.hooked ?? 0} reported by agents, ${st?.unhooked ?? 0} UNHOOKED${s.complete === false ? "; strace did not end with the program (its last lines may be missing)" : ""}`,
    );
    if (s.following !== undefined && s.following.length > 0)
      out.push(
        `  strace goes on following pid ${s.following.join(", ")} after this run, its output discarded (what they do now is not seen); ${s.seccomp === true ? "if strace were killed (SIGKILL), their exec, open, connect and clone calls would fail with ENOSYS (the --seccomp-bpf filter stays in the kernel)" : "if strace were killed they would go on untraced"}`,
      );
    for (const u of s.unhooked)
      out.push(`  ${u.verdict} ${printable(`${u.function} ${u.target}`)}  pid ${u.pid}`);
    const quiet = st?.quiet ?? 0;
    const more = (st?.unhooked ?? 0) - quiet - s.unhooked.length;
    if (more > 0) out.push(`  ... and ${more} more`);
    if (quiet > 0)
      out.push(
        `  and ${quiet} program(s) started by programs without an agent (shells, build tools), as the policy allows: --verbose, --json or --audit lists them`,
      );
  } else
    out.push(
      `strace: ${s.state === "off" ? "off (--no-strace)" : `not used: ${s.reason ?? "unavailable"}`}; static binaries, raw system calls and native addons' own system calls are not seen`,
    );
  return `${out.join("\n")}\n`;
}
