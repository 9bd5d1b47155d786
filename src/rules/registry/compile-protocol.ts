/** Messages between the registry and its compiler thread (./compile.ts, ./compile-worker.ts). */
import type { ErrorCategory } from "../../core/errors.js";
import type { PluginLimitsInput, PreparedModule } from "../../sandbox/index.js";

export interface CompileRequest {
  readonly id: number;
  readonly bytes: Uint8Array;
  readonly name: string;
  readonly limits: PluginLimitsInput;
  readonly cacheDir?: string | false;
}

export type CompileReply =
  | { readonly id: number; readonly ok: true; readonly prepared: PreparedModule }
  | {
      readonly id: number;
      readonly ok: false;
      readonly error: {
        readonly code: string;
        readonly message: string;
        readonly category?: ErrorCategory;
        readonly details?: Readonly<Record<string, unknown>>;
      };
    };
