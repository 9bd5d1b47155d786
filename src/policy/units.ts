/** Units of `resources.limits` and `runtime`: CPU, bytes and durations. */

/** `500m` → 0.5 cores, `2` → 2 cores. */
export function parseCpu(v: string | number): number | string {
  if (typeof v === "number") return v > 0 ? v : "cpu must be positive";
  const m = /^(\d+(?:\.\d+)?)(m?)$/.exec(v.trim());
  if (!m) return `"${v}" is not a CPU amount like "500m" or "2"`;
  const n = Number(m[1]) / (m[2] === "m" ? 1000 : 1);
  return n > 0 ? n : "cpu must be positive";
}

const BYTES: Readonly<Record<string, number>> = {
  "": 1,
  b: 1,
  k: 1e3,
  m: 1e6,
  g: 1e9,
  t: 1e12,
  ki: 1024,
  mi: 1024 ** 2,
  gi: 1024 ** 3,
  ti: 1024 ** 4,
};

/** `512Mi` → 536870912, `1G` → 1e9, a number is bytes. */
export function parseBytes(v: string | number): number | string {
  if (typeof v === "number")
    return Number.isInteger(v) && v > 0 ? v : "bytes must be a positive integer";
  const m = /^(\d+(?:\.\d+)?)\s*([kKmMgGtT]i?|[bB])?$/.exec(v.trim());
  const unit = BYTES[(m?.[2] ?? "").toLowerCase()];
  if (!m || unit === undefined) return `"${v}" is not a size like "512Mi", "1Gi" or "256M"`;
  return Math.round(Number(m[1]) * unit);
}

const TIME: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `30s` → 30000 ms, `500ms`, `2m`, `1h`; a number is seconds. */
export function parseDuration(v: string | number): number | string {
  if (typeof v === "number") return v > 0 ? v * 1000 : "duration must be positive";
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)$/.exec(v.trim());
  if (!m) return `"${v}" is not a duration like "30s", "500ms", "2m" or "1h"`;
  return Number(m[1]) * TIME[m[2]!]!;
}
