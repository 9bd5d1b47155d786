export function stringList(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((s): s is string => typeof s === "string") : [];
}

/** What built-in guards do with a finding on a tools list. */
export const LIST_ACTIONS = ["hide", "block", "warn"] as const;
export type ListAction = (typeof LIST_ACTIONS)[number];
