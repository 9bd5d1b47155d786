/**
 * What every hook calls: judge the operation (the `Judge`), record the event (the `Channel`),
 * and for a review, wait for the person's answer. Returns the verdict to act on: `block` makes
 * the hook fail the call, anything else lets it go on.
 */
import type { Verdict } from "../../core/decision.js";
import type { Op } from "../actions.js";
import type { ReviewAnswer } from "../protocol.js";
import type { Channel } from "./channel.js";
import { EventJson } from "./event-json.js";
import type { Judge, Judged } from "./judge.js";

const REVIEW_ALLOWED: Judged = Object.freeze({ verdict: "allow", decision: undefined });

export class Tracer {
  readonly judge: Judge;
  readonly channel: Channel;
  readonly #t0: bigint;
  readonly #reviewMs: number;
  readonly #json: EventJson;

  constructor(
    judge: Judge,
    channel: Channel,
    t0: bigint,
    reviewTimeoutMs: number,
    ids: { pid: number; threadId: number },
  ) {
    this.judge = judge;
    this.channel = channel;
    this.#json = new EventJson(ids.pid, ids.threadId);
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
  record(fn: string, module: string, target: string, j: Judged, extra?: readonly string[]): Judged {
    return this.#record(fn, module, target, j, extra, undefined);
  }

  #record(
    fn: string,
    module: string,
    target: string,
    j: Judged,
    extra: readonly string[] | undefined,
    port: number | undefined,
  ): Judged {
    const t = Number(process.hrtime.bigint() - this.#t0);
    const d = j.decision;
    if (j.verdict !== "review") {
      this.channel.event(this.#json.build(fn, module, target, j.verdict, d, t, extra, port));
      // A block leaves now, not up to 50 ms later: a thread ended right after it (an ESM
      // loader's thread when the process exits, a worker terminated) lost it from the audit.
      if (j.verdict === "block") this.channel.flush();
      return j;
    }
    // Review: hold the call until a person answers on the terminal (or the timeout denies).
    const ch = this.channel;
    ch.flush();
    const ev = this.#json.build(fn, module, target, j.verdict, d, t, extra, port);
    const a = ch.request({ t: "review", ev }, this.#reviewMs + 5_000);
    const answer = a.ok ? (a.body as ReviewAnswer) : undefined;
    ch.event(
      this.#json.build(fn, module, target, j.verdict, d, t, extra, port, answer?.why ?? "timeout"),
    );
    return answer?.decision === "allow" ? REVIEW_ALLOWED : blocked(j);
  }
}

function blocked(j: Judged): Judged {
  return { verdict: "block" satisfies Verdict, decision: j.decision };
}
