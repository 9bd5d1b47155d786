/** The outcome of bringing an input to its canonical form: the value, or why it cannot be. */
export type Canon<T = string> = { ok: true; value: T } | { ok: false; reason: string };

export function fail(reason: string): { ok: false; reason: string } {
  return { ok: false, reason };
}
