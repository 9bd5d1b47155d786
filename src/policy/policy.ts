import type { CheckContext } from "./context.js";
import type { PolicyState } from "./rate-limit.js";
import { badAction, makeDecision, type Rule } from "./rule.js";
import type { Limits, RuntimeSettings } from "./types/limits.js";
import type { CheckOptions, Explanation, PolicyDecision, PolicyError } from "./types.js";

/** A kind's matcher with its compiled section: called as `match(section, action, ctx)`. */
export interface Judge {
  readonly match: (
    section: never,
    action: Readonly<Record<string, unknown>>,
    ctx: CheckContext,
  ) => PolicyDecision;
  readonly section: unknown;
}

const BAD_CALLER = badAction("action", '"caller" must be a string naming who asks');
const NOT_AN_OBJECT = badAction("action", 'an action must be a JSON object with a "kind"');

export interface PolicyInit {
  file: string;
  revision: string;
  version: string;
  dialect: "warden" | "malwi";
  warnings: readonly PolicyError[];
  given: readonly string[];
  description: string;
  state: PolicyState;
  rateKeys: ReadonlySet<string>;
  sections: ReadonlyMap<string, unknown>;
  summary: Record<string, unknown>;
  dispatch: ReadonlyMap<string, Judge>;
  rules: readonly Rule[];
}

/**
 * A compiled policy: immutable, checked in nanoseconds. `check` never throws on bad input:
 * malformed actions and unknown kinds are denied with code `bad_action`, inputs that cannot be
 * canonicalized with `not_canonical`.
 */
export class CompiledPolicy {
  readonly file: string;
  /** sha256 (hex) of the source text. */
  readonly revision: string;
  readonly version: string;
  /** The language the file was written in: Warden's own, or malwi's (read as Warden's). */
  readonly dialect: "warden" | "malwi";
  /**
   * What compiled but is not enforced as written (a malwi key Warden cannot enforce, a rule
   * enforced more strictly), each located `file:line:col`: say them to the user.
   */
  readonly warnings: readonly PolicyError[];
  /** The sections the policy writes (for a malwi policy: the Warden sections it was read as). */
  readonly given: readonly string[];
  readonly description: string;
  /** Rate-limit state; pass it to the next `compilePolicy` to keep counters across a swap. */
  readonly state: PolicyState;
  /** Content keys of this policy's rate-limited rules. */
  readonly rateKeys: ReadonlySet<string>;
  /** Compiled sections by key (`storage`, `mcp`, ...), for extensions and hosts. */
  readonly sections: ReadonlyMap<string, unknown>;
  /** What `warden policy check` prints. */
  readonly summary: Readonly<Record<string, unknown>>;
  /**
   * Every rule, in the order the compiler made them (`id`: its key path, `where`: `file:line`,
   * `effect`): the rules a decision's `ruleId` can name (`warden policy test --coverage`).
   */
  readonly rules: readonly Rule[];
  readonly #dispatch: ReadonlyMap<string, Judge>;
  readonly #ctx: CheckContext;

  constructor(init: PolicyInit) {
    this.file = init.file;
    this.revision = init.revision;
    this.version = init.version;
    this.dialect = init.dialect;
    this.warnings = init.warnings;
    this.given = init.given;
    this.description = init.description;
    this.state = init.state;
    this.rateKeys = init.rateKeys;
    this.sections = init.sections;
    this.summary = init.summary;
    this.rules = init.rules;
    this.#dispatch = init.dispatch;
    this.#ctx = {
      now: Number.NaN,
      explain: false,
      state: init.state,
      input: undefined,
      realPath: undefined,
      limits: undefined,
    };
  }

  /** `resources.limits`, in plain numbers (empty when the policy sets none). */
  get limits(): Limits {
    return (this.sections.get("resources") as Limits | undefined) ?? {};
  }

  get runtime(): RuntimeSettings {
    return (this.sections.get("runtime") as RuntimeSettings | undefined) ?? {};
  }

  /** Judge one action. Default deny; deny rules beat allow rules. */
  check(action: unknown, opts?: CheckOptions): PolicyDecision {
    const ctx = this.#ctx;
    // `ctx.explain` is false outside `#explained` (it resets it on the way out).
    if (opts === undefined) {
      ctx.now = Number.NaN;
      ctx.realPath = undefined;
      ctx.limits = undefined;
    } else {
      ctx.now = opts.now ?? Number.NaN;
      ctx.realPath = opts.realPath;
      ctx.limits = opts.limits;
      if (opts.explain === true) return this.#explained(action, ctx);
    }
    if (action === null || typeof action !== "object" || Array.isArray(action))
      return NOT_AN_OBJECT;
    const kind = (action as { kind?: unknown }).kind;
    const judge = typeof kind === "string" ? this.#dispatch.get(kind) : undefined;
    if (judge === undefined) return unknownKind(kind);
    const caller = (action as { caller?: unknown }).caller;
    if (caller !== undefined && typeof caller !== "string") return BAD_CALLER;
    try {
      return judge.match(judge.section as never, action as Readonly<Record<string, unknown>>, ctx);
    } catch (e) {
      return unreadable(e);
    }
  }

  #explained(action: unknown, ctx: CheckContext): PolicyDecision {
    ctx.explain = true;
    ctx.input = action;
    const t0 = process.hrtime.bigint();
    let d: PolicyDecision;
    if (action === null || typeof action !== "object" || Array.isArray(action)) d = NOT_AN_OBJECT;
    else {
      const kind = (action as { kind?: unknown }).kind;
      const judge = typeof kind === "string" ? this.#dispatch.get(kind) : undefined;
      const caller = (action as { caller?: unknown }).caller;
      try {
        d =
          judge === undefined
            ? unknownKind(kind)
            : caller !== undefined && typeof caller !== "string"
              ? BAD_CALLER
              : judge.match(
                  judge.section as never,
                  action as Readonly<Record<string, unknown>>,
                  ctx,
                );
      } catch (e) {
        d = unreadable(e);
      }
    }
    const time_ns = Number(process.hrtime.bigint() - t0);
    const explanation: Explanation = Object.freeze({
      rule: d.rule ?? null,
      ruleId: d.ruleId ?? null,
      input: ctx.input,
      result: d.effect,
      time_ns,
      revision: this.revision,
    });
    ctx.input = undefined;
    ctx.explain = false;
    return Object.freeze({ ...d, explanation });
  }
}

/** An action whose fields throw when read (a getter, a proxy): denied, never thrown. */
function unreadable(e: unknown): PolicyDecision {
  return badAction(
    "action",
    `the action could not be read (${e instanceof Error ? e.message : String(e)})`,
  );
}

const unknownCache = new Map<string, PolicyDecision>();
function unknownKind(kind: unknown): PolicyDecision {
  if (typeof kind !== "string")
    return badAction("action", '"kind" must be a string naming the action');
  let d = unknownCache.get(kind);
  if (d === undefined) {
    d = makeDecision(
      "deny",
      "bad_action",
      `unknown action kind "${kind.slice(0, 60)}"; see docs/policy.md for the list`,
    );
    if (unknownCache.size < 1000) unknownCache.set(kind, d);
  }
  return d;
}
