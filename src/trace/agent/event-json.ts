/**
 * An event as the protocol's `TraceEvent` JSON text, built in the traced thread: the flusher
 * thread then only joins batches and posts them (no decoding, no object per event: measured,
 * decoding and re-encoding in the flusher cost more than the traced call itself). The constant
 * parts are built once per function name and per decision.
 */
import type { Verdict } from "../../core/decision.js";
import type { PolicyDecision } from "../../policy/types.js";

export type ReviewOutcome = "allowed" | "denied" | "timeout" | "no_tty";

export class EventJson {
  readonly #heads = new Map<string, string>();
  readonly #rules = new Map<PolicyDecision, [allowed: string, other: string]>();
  readonly #mid: string;

  constructor(pid: number, threadId: number) {
    this.#mid = `,"thread_id":${threadId},"pid":${pid},"target":`;
  }

  /**
   * `{"hook_type":"nodejs",...}` of one call: `fn` without `js:`, `target` what was judged,
   * `extra` more arguments to show, `port` for connects, `t` ns since the run started.
   */
  build(
    fn: string,
    module: string,
    target: string,
    verdict: Verdict,
    decision: PolicyDecision | undefined,
    t: number,
    extra: readonly string[] | undefined,
    port: number | undefined,
    review?: ReviewOutcome,
  ): string {
    const a = JSON.stringify(target);
    let s = this.#head(fn, module) + a;
    if (extra !== undefined)
      for (let i = 0; i < extra.length; i++)
        s += `},{"index":${i + 1},"display":${JSON.stringify(extra[i])}`;
    s += `}],"timestamp_ns":${t}${this.#mid}${a},"verdict":"${verdict}"`;
    if (port !== undefined) s += `,"network_info":{"host":${a},"port":${port}}`;
    if (decision !== undefined) s += this.#rule(decision, verdict === "allow");
    if (review !== undefined) s += `,"review":"${review}"`;
    return `${s}}`;
  }

  #head(fn: string, module: string): string {
    let h = this.#heads.get(fn);
    if (h === undefined) {
      // `fs.readFileSync` belongs to `fs`; a bare name (`fetch`) to the module given.
      const dot = fn.indexOf(".");
      const mod = dot > 0 ? fn.slice(0, dot) : module;
      h = `{"hook_type":"nodejs","event_type":"enter","function":${JSON.stringify(`js:${fn}`)},"module":${JSON.stringify(mod)},"arguments":[{"index":0,"display":`;
      this.#heads.set(fn, h);
    }
    return h;
  }

  /** `,"rule":...,"rule_id":...` (and the reason, except on an allowed event: it is its rule's). */
  #rule(d: PolicyDecision, allowed: boolean): string {
    let r = this.#rules.get(d);
    if (r === undefined) {
      let rule = "";
      if (d.rule !== undefined) rule += `,"rule":${JSON.stringify(d.rule)}`;
      if (d.ruleId !== undefined) rule += `,"rule_id":${JSON.stringify(d.ruleId)}`;
      r = [rule, `${rule},"reason":${JSON.stringify(d.reason)}`];
      if (this.#rules.size < 4096) this.#rules.set(d, r);
    }
    return allowed ? r[0] : r[1];
  }
}
