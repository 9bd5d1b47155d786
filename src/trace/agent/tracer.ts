/**
 * What every hook calls: judge the operation (the `Judge`), record the event (the `Channel`),
 * and for a review, wait for the person's answer. Returns the verdict to act on: `block` makes
 * the hook fail the call, anything else lets it go on.
 */
import type { Verdict } from "../../core/decision.js";
import type { Op } from "../actions.js";
import type { ReviewAnswer } from "../protocol.js";
import type { Channel } from "./channel.js";
import type { Judge, Judged } from "./judge.js";
import type { RawEvent } from "./wire.js";

const REVIEW_ALLOWED: Judged = Object.freeze({ verdict: "allow", decision: undefined });

export class Tracer {
  readonly judge: Judge;
  readonly channel: Channel;
  readonly #t0: bigint;
  readonly #reviewMs: number;

  constructor(judge: Judge, channel: Channel, t0: bigint, reviewTimeoutMs: number) {
    this.judge = judge;
    this.channel = channel;
    this.#t0 = t0;
    this.#reviewMs = reviewTimeoutMs;
  }

  /** A file operation (`fs.readFileSync`): judged, remembered, recorded. */
  file(fn: string, write: boolean, path: string): Judged {
    const j = this.judge.path(write, path);
    return this.#record(fn, "fs", path, j, undefined, undefined);
  }

  /** Any other operation. */
  op(fn: string, module: string, op: Op, extra?: readonly string[]): Judged {
    const j = this.judge.op(op);
    return this.#record(fn, module, op.target, j, extra, op.port);
  }

  /** Record an operation judged elsewhere (an environment key judged once, read again). */
  record(fn: string, module: string, target: string, j: Judged): Judged {
    return this.#record(fn, module, target, j, undefined, undefined);
  }

  #record(
    fn: string,
    module: string,
    target: string,
    j: Judged,
    extra: readonly string[] | undefined,
    port: number | undefined,
  ): Judged {
    const ch = this.channel;
    const e: RawEvent = {
      f: fn,
      m: module,
      a: target,
      v: j.verdict,
      d: j.decision === undefined ? -1 : ch.decisionId(j.decision),
      t: Number(process.hrtime.bigint() - this.#t0),
      x: extra,
      p: port,
    };
    if (j.verdict !== "review") {
      ch.event(e);
      return j;
    }
    return this.#review(e, j);
  }

  /** Hold the call until a person answers on the terminal (or the timeout denies). */
  #review(e: RawEvent, j: Judged): Judged {
    const ch = this.channel;
    ch.flush();
    const a = ch.request({ t: "review", ev: e }, this.#reviewMs + 5_000);
    const answer = a.ok ? (a.body as ReviewAnswer) : undefined;
    e.r = answer?.why ?? "timeout";
    ch.event(e);
    return answer?.decision === "allow" ? REVIEW_ALLOWED : blocked(j);
  }
}

function blocked(j: Judged): Judged {
  return { verdict: "block" satisfies Verdict, decision: j.decision };
}
