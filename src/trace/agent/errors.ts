/**
 * A blocked call fails the way the runtime's own error would, so programs handle it as they
 * already do: EACCES for a file, ECONNREFUSED for a connect, ENOENT for a spawn (as Node's own
 * errors: `code`, `errno`, `syscall`, `path`), the message naming Warden and the rule.
 */
import type { Judged } from "./judge.js";

/** `blocked by Warden (policy.yaml:12, storage.deny[0])`, or the reason when no rule decided. */
export function because(j: Judged): string {
  const d = j.decision;
  if (d === undefined) return "blocked by Warden";
  if (d.rule !== undefined) return `blocked by Warden (${d.ruleId ?? "rule"} at ${d.rule})`;
  return `blocked by Warden: ${d.reason}`;
}

type Errno = Error & {
  errno: number;
  code: string;
  syscall: string;
  path?: string;
  address?: string;
  port?: number;
  spawnargs?: readonly string[];
  warden?: { rule?: string | undefined; rule_id?: string | undefined; reason: string };
};

function make(message: string, errno: number, code: string, syscall: string, j: Judged): Errno {
  const e = new Error(message) as Errno;
  e.errno = errno;
  e.code = code;
  e.syscall = syscall;
  const d = j.decision;
  e.warden = { rule: d?.rule, rule_id: d?.ruleId, reason: d?.reason ?? "blocked by Warden" };
  return e;
}

export function fsError(syscall: string, path: string, j: Judged): Error {
  const e = make(
    `EACCES: permission denied, ${syscall} '${path}' (${because(j)})`,
    -13,
    "EACCES",
    syscall,
    j,
  );
  e.path = path;
  return e;
}

export function connectError(host: string, port: number | undefined, j: Judged): Error {
  const where = port === undefined ? host : `${host}:${port}`;
  const e = make(
    `connect ECONNREFUSED ${where} (${because(j)})`,
    -111,
    "ECONNREFUSED",
    "connect",
    j,
  );
  e.address = host;
  if (port !== undefined) e.port = port;
  return e;
}

export function lookupError(host: string, j: Judged): Error {
  const e = make(
    `getaddrinfo ENOTFOUND ${host} (${because(j)})`,
    -3008,
    "ENOTFOUND",
    "getaddrinfo",
    j,
  );
  (e as Errno & { hostname: string }).hostname = host;
  return e;
}

export function spawnError(file: string, args: readonly string[], j: Judged): Error {
  const e = make(`spawn ${file} ENOENT (${because(j)})`, -2, "ENOENT", `spawn ${file}`, j);
  e.path = file;
  e.spawnargs = args.slice(1);
  return e;
}
