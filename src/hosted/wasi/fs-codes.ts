/**
 * What Warden's own file calls and preview2-shim's agree on: node fs errors as wasi:filesystem
 * error codes, and wasi:filesystem new-timestamps as seconds.
 */

/** A node fs error as the wasi:filesystem error code (preview2-shim's mapping, Linux). */
export function fsErrorCode(e: unknown): string {
  if (typeof e === "string") return e; // already a WASI error code
  const code = (e as { code?: string }).code;
  return (
    (
      {
        EACCES: "access",
        EBADF: "bad-descriptor",
        EBUSY: "busy",
        EDQUOT: "quota",
        EEXIST: "exist",
        EINVAL: "invalid",
        EIO: "io",
        EISDIR: "is-directory",
        ELOOP: "loop",
        EMLINK: "too-many-links",
        ENAMETOOLONG: "name-too-long",
        ENOENT: "no-entry",
        ENOSPC: "insufficient-space",
        ENOTDIR: "not-directory",
        ENOTEMPTY: "not-empty",
        EPERM: "not-permitted",
        EROFS: "read-only",
        EXDEV: "cross-device",
      } as Record<string, string>
    )[code ?? ""] ?? "io"
  );
}

/**
 * A wasi:filesystem new-timestamp as seconds for `utimes`: `timestamp` (seconds and
 * nanoseconds), `now`, or `no-change` (`keepMs`, the entry's own time). Anything else is
 * `invalid`.
 */
export function secondsOf(t: unknown, keepMs: number | undefined): number {
  const v = t as { tag?: unknown; val?: { seconds?: unknown; nanoseconds?: unknown } };
  if (v?.tag === "no-change" && keepMs !== undefined) return keepMs / 1000;
  if (v?.tag === "now") return Date.now() / 1000;
  const sec = v?.val?.seconds;
  const ns = v?.val?.nanoseconds;
  if (
    v?.tag === "timestamp" &&
    typeof sec === "bigint" &&
    sec >= 0n &&
    sec <= BigInt(Number.MAX_SAFE_INTEGER) &&
    typeof ns === "number" &&
    Number.isInteger(ns) &&
    ns >= 0 &&
    ns < 1e9
  )
    return Number(sec) + ns / 1e9;
  throw "invalid";
}
