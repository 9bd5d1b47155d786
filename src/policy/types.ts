/** Shared types of the policy layer. */
import type { Verdict } from "../core/decision.js";
import type { RuleLimiter } from "./rate-limit.js";

/** A compile error, located: `file:line:col code message` (key names the policy key). */
export interface PolicyError {
  readonly file: string;
  readonly line: number;
  readonly col: number;
  readonly code: string;
  readonly key: string;
  readonly message: string;
}

export type Effect = "allow" | "deny";

export interface Explanation {
  /** `file:line` of the deciding rule, or null when no rule matched. */
  readonly rule: string | null;
  readonly ruleId: string | null;
  /** The action as it was judged (canonicalized), or the raw input when it could not be. */
  readonly input: unknown;
  readonly result: Effect;
  /** Time the check took, in nanoseconds. */
  readonly time_ns: number;
  /** sha256 of the policy source. */
  readonly revision: string;
}

/**
 * Why a call was denied when no deny rule said so: `no_rule` (default deny), `bad_action`
 * (malformed or unknown kind; the CLI exits 2), `not_canonical` (the input cannot be brought
 * to one canonical form), `condition` (an allow rule matched the name but a parameter,
 * port, scheme, length or operation did not), `rate_limited`, `deny_rule`, `allow_rule`,
 * `default_rule` (no rule of a process section named it; its `default` decided).
 */
export type DecisionCode =
  | "allow_rule"
  | "deny_rule"
  | "no_rule"
  | "bad_action"
  | "not_canonical"
  | "condition"
  | "rate_limited"
  | "default_rule";

export interface PolicyDecision {
  readonly allowed: boolean;
  readonly effect: Effect;
  readonly code: DecisionCode;
  readonly reason: string;
  /** `file:line` of the deciding rule. */
  readonly rule?: string;
  /** The deciding rule's key path, e.g. `mcp.tools.allow[0]`. */
  readonly ruleId?: string;
  readonly explanation?: Explanation;
  /**
   * The verdict on core's lattice, for sections with modes (the process sections: review,
   * warn, log, noop). Absent: allow or block, as `allowed` says.
   */
  readonly verdict?: Verdict;
}

export interface CheckOptions {
  explain?: boolean;
  /** Clock for rate limits, in ms (defaults to `performance.now()` based monotonic ms). */
  now?: number;
  /**
   * The host's file system, for paths that name files on it: every path the check judges
   * (storage paths, `file:` resource URIs, `path` argument constraints) is first brought to its
   * canonical form, then given to this function, and the check is made on what it returns
   * (the file the host would open). `resolveRealPathSync` (io.ts) is the standard one. Without
   * it, paths are judged as strings (and the answer is remembered per input).
   */
  realPath?: RealPath;
  /**
   * Rate limits taken elsewhere (a window shared between gateways, src/state): a rule with
   * `max_calls_per_minute` takes nothing from its in-memory window; when it decides, it records
   * its limiter in `limits.pending` and allows, subject to the host taking one call from that
   * window. A limiter in `limits.exhausted` counts as used up (the host found it full), so the
   * check goes on to the next allow rule, as with in-memory windows.
   */
  limits?: DeferredLimits;
}

/** See `CheckOptions.limits`. */
export interface DeferredLimits {
  pending: PendingLimit | undefined;
  readonly exhausted: Set<RuleLimiter>;
}

/** A call allowed subject to taking one from `limiter`'s window for (`tool`, `caller`). */
export interface PendingLimit {
  readonly limiter: RuleLimiter;
  readonly tool: string;
  readonly caller: string;
}

/**
 * A canonical absolute path (and the input it came from) to the path the host would open, or
 * `{ refused }` with the reason when that cannot be told safely (the check then denies).
 */
export type RealPath = (path: string, raw: string) => string | { readonly refused: string };

/** What an action may carry in every kind. */
interface Base {
  /** Who asks: for rate limits and audit. */
  caller?: string;
  /**
   * Who authenticated, when it is not `caller` (caller_includes_client_name appends the
   * client's self-chosen name to it): what `user:<name>` of `callers` matches. Default: caller.
   */
  user?: string;
  /** The caller's groups and scopes (an OAuth access token's): for `callers` of mcp rules. */
  groups?: readonly string[];
  scopes?: readonly string[];
}

export type Action =
  | (Base & { kind: "storage.read" | "storage.write"; uri: string })
  | (Base & { kind: "network.connect"; host: string; port?: number; scheme?: string })
  | (Base & { kind: "http.request"; url: string; method?: string })
  | (Base & { kind: "env.read"; key: string })
  | (Base & { kind: "tool.call"; name: string; arguments?: Record<string, unknown> })
  | (Base & { kind: "prompt.get"; name: string; arguments?: Record<string, unknown> })
  | (Base & { kind: "resource.read"; uri: string })
  | (Base & { kind: "tool.list" | "prompt.list"; name: string })
  | (Base & { kind: "resource.list"; uri: string })
  | (Base & {
      kind: "completion.complete";
      ref: { type: string; name?: string; uri?: string };
    })
  | (Base & { kind: "method.call"; method: string })
  | (Base & { kind: "command.exec"; path: string; argv?: readonly string[] })
  | (Base & { kind: "nodejs.call" | "python.call"; name: string; args?: readonly string[] })
  | (Base & { kind: "http.url"; url: string; method?: string })
  | (Base & { kind: "endpoint.connect"; host: string; port?: number; protocol?: string })
  | (Base & {
      kind: "transport.connect";
      transport: "stdio" | "http" | "websocket";
      host?: string;
    });

export type ActionKind = Action["kind"];
