import type { CompileContext } from "../context.js";
import { shippedRef } from "../json-schema.js";
import type { PermissionType } from "../registry.js";
import type { Path } from "../source.js";
import { parseBytes, parseCpu, parseDuration } from "../units.js";

/** Resource limits in plain numbers (absent: the runtime's default budget applies). */
export interface Limits {
  readonly cpu?: number;
  readonly memory_bytes?: number;
  readonly execution_time_ms?: number;
}

export interface RuntimeSettings {
  readonly engine?: string;
  readonly fuel?: number;
  readonly memory_limit_bytes?: number;
  readonly wasmtime?: { readonly fuel?: number; readonly memory_limit_bytes?: number };
  readonly wasmedge?: { readonly wasi_nn?: boolean; readonly memory_limit_bytes?: number };
}

function unit(
  ctx: CompileContext,
  at: Path,
  v: string | number | undefined,
  parse: (v: string | number) => number | string,
): number | undefined {
  if (v === undefined) return undefined;
  const n = parse(v);
  if (typeof n === "string") {
    ctx.error(at, "policy_bad_value", n);
    return undefined;
  }
  return n;
}

function clean<T extends object>(o: T): T {
  for (const k of Object.keys(o))
    if ((o as Record<string, unknown>)[k] === undefined) delete (o as Record<string, unknown>)[k];
  return o;
}

export const resourcesType: PermissionType<Limits> = {
  key: "resources",
  description: "resource limits: cpu, memory, execution_time",
  schema: { $ref: shippedRef("policy", "#/definitions/resources") },
  compile(value, ctx, path) {
    const l = (value as { limits?: Record<string, string | number> }).limits ?? {};
    const at = [...path, "limits"];
    return clean({
      cpu: unit(ctx, [...at, "cpu"], l.cpu, parseCpu),
      memory_bytes: unit(ctx, [...at, "memory"], l.memory, parseBytes),
      execution_time_ms: unit(ctx, [...at, "execution_time"], l.execution_time, parseDuration),
    });
  },
  match: {},
  summarize: (c) => ({ ...c }),
};

export const runtimeType: PermissionType<RuntimeSettings> = {
  key: "runtime",
  description: "WebAssembly runtime settings: engine, fuel, memory_limit",
  schema: { $ref: shippedRef("policy", "#/definitions/runtime") },
  compile(value, ctx, path) {
    const v = value as Record<string, Record<string, unknown> | string | number | undefined>;
    const sub = (k: "wasmtime" | "wasmedge") =>
      v[k] as Record<string, string | number | boolean> | undefined;
    const wt = sub("wasmtime");
    const we = sub("wasmedge");
    const out: Record<string, unknown> = clean({
      engine: v.engine as string | undefined,
      fuel: v.fuel as number | undefined,
      memory_limit_bytes: unit(
        ctx,
        [...path, "memory_limit"],
        v.memory_limit as string | number | undefined,
        parseBytes,
      ),
    });
    if (wt) {
      out.wasmtime = clean({
        fuel: wt.fuel as number | undefined,
        memory_limit_bytes: unit(
          ctx,
          [...path, "wasmtime", "memory_limit"],
          wt.memory_limit as string | number | undefined,
          parseBytes,
        ),
      });
    }
    if (we) {
      out.wasmedge = clean({
        wasi_nn: we.wasi_nn as boolean | undefined,
        memory_limit_bytes: unit(
          ctx,
          [...path, "wasmedge", "memory_limit"],
          we.memory_limit as string | number | undefined,
          parseBytes,
        ),
      });
    }
    return out as RuntimeSettings;
  },
  match: {},
  summarize: (c) => ({ ...c }),
};
