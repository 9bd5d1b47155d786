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
  | { readonly t: "ev"; readonly b: RawEvent[] }
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
