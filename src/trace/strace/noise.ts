/**
 * What the strace layer never flags, because every program does it before or beside its own
 * work (docs/trace.md, "The strace layer: what is checked"): reading the dynamic loader's cache
 * and the system's libraries, locale, time zone, resolver and account files, and anything under
 * /proc, /sys and /dev; writing to the terminal and /dev/null. Only opens for reading are
 * exempt (besides those few devices): a write under /usr/lib is still checked. The list is
 * fixed here, not configurable, and tested (test/trace/strace-unit.test.ts).
 */

/** Directories whose files are read by the loader and the C library of every program. */
export const SYSTEM_READ_DIRS: readonly string[] = [
  "/proc/",
  "/sys/",
  "/dev/",
  "/lib/",
  "/lib32/",
  "/lib64/",
  "/libx32/",
  "/usr/lib/",
  "/usr/lib32/",
  "/usr/lib64/",
  "/usr/libx32/",
  "/usr/share/locale/",
  "/usr/share/i18n/",
  "/usr/share/zoneinfo/",
  "/etc/ssl/certs/",
  "/etc/ld.so.conf.d/",
];

/** Single files the C library reads on its own (loader, resolver, accounts, time, TLS). */
export const SYSTEM_READ_FILES: readonly string[] = [
  "/etc/ld.so.cache",
  "/etc/ld.so.preload",
  "/etc/ld.so.conf",
  "/etc/localtime",
  "/etc/timezone",
  "/etc/nsswitch.conf",
  "/etc/hosts",
  "/etc/host.conf",
  "/etc/resolv.conf",
  "/etc/gai.conf",
  "/etc/passwd",
  "/etc/group",
  "/etc/ssl/openssl.cnf",
  "/etc/mime.types",
];

/** Devices any program writes to without meaning anything by it. */
const QUIET_WRITES = /^\/dev\/(?:null|tty|pts\/\d+|stdout|stderr|fd\/\d+)$|^\/proc\/self\/fd\/\d+$/;

/** Is an open of `path` (absolute) system noise, never flagged? */
export function isNoise(path: string, write: boolean): boolean {
  if (write) return QUIET_WRITES.test(path);
  if (SYSTEM_READ_FILES.includes(path)) return true;
  for (const d of SYSTEM_READ_DIRS) if (path.startsWith(d)) return true;
  return false;
}
