import type { ConfigChecker } from "../config-types.js";

type Report = Parameters<ConfigChecker>[1];

/** Small checkers the built-in guards use to validate their `config` once, at load. */
export function checkKeys(
  cfg: Readonly<Record<string, unknown>>,
  known: readonly string[],
  report: Report,
): void {
  for (const k of Object.keys(cfg))
    if (!known.includes(k))
      report(k, `unknown setting "${k}"; this guard reads: ${known.join(", ") || "nothing"}.`);
}

export function checkEnum(
  cfg: Readonly<Record<string, unknown>>,
  key: string,
  values: readonly string[],
  report: Report,
): void {
  const v = cfg[key];
  if (v !== undefined && !values.includes(v as string))
    report(key, `${key} must be one of ${values.join(", ")}, not ${JSON.stringify(v)}.`);
}

export function checkStringList(
  cfg: Readonly<Record<string, unknown>>,
  key: string,
  report: Report,
  allowed?: readonly string[],
): void {
  const v = cfg[key];
  if (v === undefined) return;
  if (!Array.isArray(v) || !v.every((s) => typeof s === "string")) {
    report(key, `${key} must be a list of strings.`);
    return;
  }
  if (allowed)
    for (const s of v)
      if (!allowed.includes(s))
        report(key, `${key}: unknown value "${s}"; use ${allowed.join(", ")}.`);
}

export function checkString(
  cfg: Readonly<Record<string, unknown>>,
  key: string,
  report: Report,
): void {
  const v = cfg[key];
  if (v !== undefined && (typeof v !== "string" || v.length === 0))
    report(key, `${key} must be a non-empty string.`);
}

export function stringList(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((s): s is string => typeof s === "string") : [];
}

/** What built-in guards do with a finding on a tools list. */
export const LIST_ACTIONS = ["hide", "block", "warn"] as const;
export type ListAction = (typeof LIST_ACTIONS)[number];
