/**
 * The messages between an agent's hooks (the traced thread) and its flusher thread, which
 * talks HTTP to `warden run`. Events cross as compact records; the flusher expands them into
 * the protocol's `TraceEvent` (so the traced thread pays little per call).
 */
import type { Verdict } from "../../core/decision.js";

/** One event as a hook records it. */
export interface RawEvent {
  /** The function, without `js:` (`fs.readFileSync`). */
  f: string;
  /** The module (`fs`, `net`, `child_process`). */
  m: string;
  /** What was judged: path, host, URL, command, key. */
  a: string;
  v: Verdict;
  /** The decision's id in the flusher's table (-1: no rule decided). */
  d: number;
  /** Nanoseconds since the run started. */
  t: number;
  /** More arguments to show (argv of a spawn, a port). */
  x?: readonly string[] | undefined;
  /** The port, for connects. */
  p?: number | undefined;
  /** How a review was answered. */
  r?: "allowed" | "denied" | "timeout" | "no_tty" | undefined;
}

/** A decision the flusher may name by id. */
export interface DecisionNote {
  readonly id: number;
  readonly rule?: string | undefined;
  readonly rule_id?: string | undefined;
  readonly reason: string;
}

export type ToFlusher =
  | { readonly t: "dec"; readonly d: DecisionNote }
  | { readonly t: "ev"; readonly b: string }
  | { readonly t: "configure"; readonly body: unknown }
  | { readonly t: "ready"; readonly body: unknown }
  | { readonly t: "child"; readonly body: unknown }
  | { readonly t: "review"; readonly ev: RawEvent }
  | { readonly t: "bye"; readonly sent: number };

/** The flusher's answer to a synchronous request (configure, review, bye). */
export type FromFlusher =
  | { readonly ok: true; readonly body: unknown }
  | { readonly ok: false; readonly error: string };

/** Slots of the shared Int32Array: answers posted, events acknowledged by the CLI. */
export const SLOT_ANSWERS = 0;
export const SLOT_ACKED = 1;

/** workerData key that marks the flusher thread (the preload then does nothing there). */
export const FLUSHER_MARK = "__wardenTraceFlusher";

/**
 * A batch crosses as one string: per event its fields `f m a v d t p r n x1..xn`, each followed
 * by NUL (no path, host, argument or key contains NUL: the kernel's strings end there).
 */
export function encodeEvent(e: RawEvent): string {
  let s = `${e.f}\0${e.m}\0${e.a}\0${e.v}\0${e.d}\0${e.t}\0${e.p ?? ""}\0${e.r ?? ""}\0`;
  const x = e.x;
  if (x === undefined) return `${s}0\0`;
  s += `${x.length}\0`;
  for (let i = 0; i < x.length; i++) s += `${x[i]}\0`;
  return s;
}

/** The events of a batch string, in order. */
export function decodeEvents(b: string, each: (e: RawEvent) => void): void {
  const f = b.split("\0");
  let i = 0;
  // The string ends with NUL: the last piece is empty.
  while (i + 9 <= f.length - 1) {
    const e: RawEvent = {
      f: f[i]!,
      m: f[i + 1]!,
      a: f[i + 2]!,
      v: f[i + 3] as RawEvent["v"],
      d: Number(f[i + 4]),
      t: Number(f[i + 5]),
    };
    if (f[i + 6] !== "") e.p = Number(f[i + 6]);
    if (f[i + 7] !== "") e.r = f[i + 7] as RawEvent["r"];
    const n = Number(f[i + 8]);
    i += 9;
    if (n > 0) {
      e.x = f.slice(i, i + n);
      i += n;
    }
    each(e);
  }
}
