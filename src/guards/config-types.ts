import type { GuardPhase } from "./types.js";

export type FailureMode = "fail_closed" | "fail_open";

/** Budgets a WebAssembly guard runs under (all enforced by the sandbox). */
export interface GuardLimits {
  readonly maxMemoryBytes: number;
  /** Undefined when not written: then timeout_ms alone sets the deadline. */
  readonly maxExecutionTimeMs: number | undefined;
  /** Instruction budget per invocation; undefined = no fuel metering (time still applies). */
  readonly maxFuel: number | undefined;
}

/** One validated, frozen `security_guards` entry. */
export interface GuardSpec {
  readonly id: string;
  /** `wasm` or a built-in type name. */
  readonly type: string;
  readonly enabled: boolean;
  /** Lower runs first; ties keep file order. */
  readonly priority: number;
  readonly failureMode: FailureMode;
  /** Per-invocation deadline (ms); the stricter of this and limits.maxExecutionTimeMs applies. */
  readonly timeoutMs: number;
  readonly runsOn: readonly GuardPhase[];
  /** Absolute path of the module (wasm guards). */
  readonly modulePath: string | undefined;
  /** The guard's own settings (read by WebAssembly guards through get-config). */
  readonly config: Readonly<Record<string, unknown>>;
  readonly limits: GuardLimits;
  /** Where the entry was written (for messages). */
  readonly source: { readonly file: string; readonly line: number };
  /** warden.yaml's state directory (absolute; unset: core's defaultStateDir): rug_pull's pins. */
  readonly stateDir?: string;
}

/** One problem in a config file: the same shape as the gateway's and the policy's. */
export interface GuardConfigIssue {
  file: string;
  line: number;
  col: number;
  code: string;
  key: string;
  message: string;
}

export interface GuardsConfigResult {
  readonly guards: readonly GuardSpec[];
  readonly issues: readonly GuardConfigIssue[];
  /** Accepted, but to be changed: a key at its old place (code `deprecated_key`). */
  readonly warnings?: readonly GuardConfigIssue[];
}

/** Where a config value sits, for messages. */
export interface At {
  readonly file: string;
  readonly line: number;
  readonly col: number;
  readonly key: string;
}

/** What a built-in type checks of its `config` at load. */
export type ConfigChecker = (
  config: Readonly<Record<string, unknown>>,
  report: (key: string, message: string) => void,
) => void;
