/**
 * Fields a condition reads: the plugin input's keys, and dotted paths into `payload` and
 * `metadata` (`payload.amount`, `payload.items.0.sku`). Compiled once into a getter; a path that
 * is not there reads as missing (undefined). Only own keys are read (`payload.__proto__` is
 * missing, never Object.prototype).
 */
import type { ActionContext } from "./types.js";

export const ROOT_FIELDS = [
  "namespace",
  "tenant",
  "provider",
  "action_type",
  "payload",
  "metadata",
] as const;
type Root = (typeof ROOT_FIELDS)[number];

export type Getter = (ctx: ActionContext) => unknown;

function step(v: unknown, key: string): unknown {
  if (v === null || typeof v !== "object") return undefined;
  if (Array.isArray(v)) {
    if (!/^(0|[1-9]\d{0,8})$/.test(key)) return undefined;
    return v[Number(key)];
  }
  return Object.hasOwn(v, key) ? (v as Record<string, unknown>)[key] : undefined;
}

/** The getter of `field`, or a message saying what is wrong with it. */
export function compileField(field: string): Getter | string {
  const parts = field.split(".");
  const root = parts[0] as Root;
  if (!(ROOT_FIELDS as readonly string[]).includes(root))
    return `unknown field "${field}": a field is one of ${ROOT_FIELDS.join(", ")}, or a dotted path into payload or metadata (payload.amount)`;
  const rest = parts.slice(1);
  if (rest.some((p) => p === "")) return `field "${field}" has an empty segment: write payload.a.b`;
  if (rest.length > 0 && root !== "payload" && root !== "metadata")
    return `field "${field}": only payload and metadata have keys below them`;
  if (rest.length === 0) return (ctx) => ctx[root];
  if (rest.length === 1) {
    const k = rest[0]!;
    return (ctx) => step(ctx[root], k);
  }
  return (ctx) => {
    let v: unknown = ctx[root];
    for (const k of rest) {
      v = step(v, k);
      if (v === undefined) return undefined;
    }
    return v;
  };
}
