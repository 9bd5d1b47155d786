/**
 * The shape of each request body, checked after JSON.parse and before a handler sees it: an
 * agent runs inside the traced program, so what it posts is input like any other.
 */
import { isVerdict } from "../core/decision.js";

const MAX_STRING = 64 * 1024;
const MAX_LIST = 4096;
const REVIEWS: ReadonlySet<unknown> = new Set(["allowed", "denied", "timeout", "no_tty"]);

function str(v: unknown): boolean {
  return typeof v === "string" && v.length <= MAX_STRING;
}
function int(v: unknown): boolean {
  return typeof v === "number" && Number.isInteger(v) && v >= 0;
}
function obj(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}
function strings(v: unknown): boolean {
  return Array.isArray(v) && v.length <= MAX_LIST && v.every(str);
}

/**
 * What an agent reports of the program (a path, a URL, a command line) is as long as the program
 * made it: a string over MAX_STRING is cut there (marked), never a reason to refuse the report.
 * (Refusing it lost the whole batch or spool record around it: every event, /configure and
 * /shutdown with it, so one 70 KB path hid the program's other calls, blocks included.)
 */
function clip(s: string): string {
  return s.length <= MAX_STRING ? s : `${s.slice(0, MAX_STRING)}…(${s.length - MAX_STRING} more)`;
}
/** o[k] is a string (cut to MAX_STRING in place). */
function text(o: Record<string, unknown>, k: string): boolean {
  const v = o[k];
  if (typeof v !== "string") return false;
  if (v.length > MAX_STRING) o[k] = clip(v);
  return true;
}
/** o[k] is a list of strings (each cut, the list cut to MAX_LIST with a last "…" entry, in place). */
function texts(o: Record<string, unknown>, k: string): boolean {
  const v = o[k];
  if (!Array.isArray(v) || !v.every((x) => typeof x === "string")) return false;
  const out = (v.length > MAX_LIST ? v.slice(0, MAX_LIST - 1) : v).map(clip);
  if (v.length > MAX_LIST) out.push(`…(${v.length - MAX_LIST + 1} more)`);
  o[k] = out;
  return true;
}

/** Why an event is not one, or undefined (over-long strings are cut in place). */
export function eventProblem(e: unknown): string | undefined {
  if (!obj(e)) return "an event must be an object";
  if (!text(e, "function") || !text(e, "target") || !text(e, "module"))
    return "function, module and target must be strings";
  if (!isVerdict(e.verdict))
    return `verdict ${JSON.stringify(e.verdict)} is not one of the lattice`;
  if (!int(e.pid) || !int(e.thread_id)) return "pid and thread_id must be integers";
  if (typeof e.timestamp_ns !== "number") return "timestamp_ns must be a number";
  if (
    !Array.isArray(e.arguments) ||
    !e.arguments.every((a) => obj(a) && (typeof a.display !== "string" || text(a, "display")))
  )
    return "arguments must be an array of {index, display}";
  if (e.arguments.length > MAX_LIST) e.arguments = e.arguments.slice(0, MAX_LIST);
  for (const k of ["rule", "rule_id", "reason"] as const)
    if (e[k] !== undefined && !text(e, k)) return `${k} must be a string`;
  if (e.review !== undefined && !REVIEWS.has(e.review))
    return "review must be allowed, denied, timeout or no_tty";
  return undefined;
}

/** An operation to judge (`/judge`): absent, or kind and target with optional details. */
function opShape(v: unknown): boolean {
  if (v === undefined) return true;
  return (
    obj(v) &&
    str(v.kind) &&
    str(v.target) &&
    (v.port === undefined || int(v.port)) &&
    (v.method === undefined || str(v.method)) &&
    (v.argv === undefined || strings(v.argv))
  );
}

/** Status and message for a body that does not fit its endpoint, or undefined. */
export function checkBody(path: string, b: unknown): { status: number; error: string } | undefined {
  const bad = (error: string) => ({ status: 400, error });
  switch (path) {
    case "/configure":
      return obj(b) && int(b.pid) && int(b.thread_id) && texts(b, "argv")
        ? undefined
        : bad("configure needs pid, thread_id and argv");
    case "/ready":
      return obj(b) && int(b.pid) && texts(b, "hooks_installed")
        ? undefined
        : bad("ready needs pid and hooks_installed");
    case "/events": {
      if (!Array.isArray(b)) return bad("events must be an array of events");
      for (let i = 0; i < b.length; i++) {
        const p = eventProblem(b[i]);
        if (p !== undefined) return bad(`event ${i}: ${p}`);
      }
      return undefined;
    }
    case "/child":
      return obj(b) && int(b.parent_pid) && int(b.child_pid) && text(b, "path") && texts(b, "argv")
        ? undefined
        : bad("child needs parent_pid, child_pid, path and argv");
    case "/review": {
      if (!obj(b)) return bad("review needs an event");
      const p = eventProblem(b.event);
      return p === undefined ? undefined : bad(`review: ${p}`);
    }
    case "/judge":
      return obj(b) &&
        int(b.pid) &&
        (b.fns === undefined || strings(b.fns)) &&
        opShape(b.op) &&
        (b.ops === undefined ||
          (Array.isArray(b.ops) &&
            b.ops.length <= 4096 &&
            b.ops.every((o) => o !== undefined && opShape(o))))
        ? undefined
        : bad("judge needs pid, and fns (names) and/or op {kind, target, port?, method?, argv?}");
    case "/shutdown":
      return obj(b) && int(b.pid) && int(b.thread_id) && int(b.events_sent)
        ? undefined
        : bad("shutdown needs pid, thread_id and events_sent");
    default:
      return { status: 404, error: `no endpoint ${path}` };
  }
}
