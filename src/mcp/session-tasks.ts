/**
 * Tasks (MCP 2025-11-25): a tools/call sent with `task` is answered at once with a task, whose
 * status and result the client fetches later with tasks/get, tasks/result, tasks/list and
 * tasks/cancel. The gateway routes these to the upstream that created the task, and only for
 * tasks created through this session (a task id is the upstream's; one from elsewhere is
 * refused). Each is judged like the call that created it: the request phase (the policy asks
 * whether the task's tool is still allowed, guards see the request), and every answer passes the
 * response phase; the answer of tasks/result is judged as the answer to that tools/call, so a
 * guard treats it exactly as a plain answer (a redacting PII guard redacts it). Audited with a
 * decision and an outcome line, as every forwarded call.
 */
import { isAllowed } from "../core/decision.js";
import { HOST_CALLS_META } from "../hosted/server.js";
import { takeHostCalls } from "./host-call-lines.js";
import { errorResponse, INTERNAL_ERROR, INVALID_PARAMS, type Request } from "./jsonrpc.js";
import type { GatewayCall } from "./judges.js";
import { judgeAnswer } from "./session-answers.js";
import type { How } from "./session-audit.js";
import { type Answer, CANCELLED, type SessionParts } from "./session-core.js";
import { mergedPages, type Page } from "./session-pages.js";
import type { UpstreamLink } from "./upstream-link.js";

type Obj = Record<string, unknown>;

export const TASK_METHODS = new Set(["tasks/get", "tasks/list", "tasks/cancel", "tasks/result"]);
/** Tasks remembered per session; past it the oldest is forgotten (its id is then refused). */
export const MAX_TASKS = 1024;

interface Task {
  link: UpstreamLink;
  /** The tools/call's public tool name, and the upstream's own. */
  publicName: string;
  name: string;
  /** The tools/call that created it: a component task's host calls share its call_id. */
  call?: GatewayCall;
}

export class TaskRoutes {
  readonly #tasks = new Map<string, Task>();

  constructor(readonly s: SessionParts) {}

  /** A tools/call was answered: remember the task it created, if it did. */
  created(
    link: UpstreamLink,
    publicName: string,
    name: string,
    result: Obj,
    call?: GatewayCall,
  ): void {
    const id = (result.task as Obj | undefined)?.taskId;
    if (typeof id !== "string") return;
    const had = this.#tasks.get(id);
    if (had !== undefined && had.link !== link) {
      // First come keeps it: an upstream cannot take over another upstream's task.
      this.s.ctx.log(
        `upstream "${link.name}" created task "${id}", an id upstream "${had.link.name}" created first; its tasks/* requests keep going to "${had.link.name}"`,
      );
      return;
    }
    this.#tasks.delete(id);
    if (this.#tasks.size >= MAX_TASKS) this.#tasks.delete(this.#tasks.keys().next().value!);
    this.#tasks.set(id, { link, publicName, name, ...(call === undefined ? {} : { call }) });
  }

  /**
   * A component upstream's notifications/tasks/status: the task's call ended and the host calls
   * it made ride in its `_meta` (src/hosted/mcp-server.ts). They are audited here, as a plain
   * tools/call's, sharing the call_id of the tools/call that created the task, and taken out
   * before the notification goes on (also when the session has closed: then it goes nowhere).
   * Any other upstream's notification is left as it is.
   */
  statusFrom(link: UpstreamLink, params: Obj): void {
    if (link.cfg.kind !== "component") return;
    const meta = params._meta as Obj | undefined;
    if (meta === undefined || meta[HOST_CALLS_META] === undefined) return;
    const task = this.#tasks.get(String(params.taskId));
    if (task?.call !== undefined && task.link === link) {
      takeHostCalls(this.s, task.call, link, task.publicName, params);
      return;
    }
    // A task this session no longer remembers: audited under a call of its own.
    const j = this.s.judges.judge("request", "tools/call", link.name, {}, "tools/call");
    takeHostCalls(this.s, j.call, link, "", params);
  }

  async handle(req: Request, p: Obj): Promise<void> {
    const s = this.s;
    if (req.method === "tasks/list") return this.#list(req, p);
    const id = p.taskId;
    const task = typeof id === "string" ? this.#tasks.get(id) : undefined;
    if (task === undefined)
      return s.audit.refuse(
        errorResponse(
          req.id,
          INVALID_PARAMS,
          `Unknown task ${JSON.stringify(id ?? null)}: ${req.method} reaches only tasks created by a tools/call of this session (the gateway remembers the last ${MAX_TASKS}).`,
          { warden: "unknown_target" },
        ),
        req.method,
        typeof id === "string" ? id : undefined,
      );
    const t0 = performance.now();
    const j = s.judges.judge("request", req.method, task.link.name, p, req.method);
    const call = j.call;
    call.meta!.target = task.publicName;
    call.meta!.name = task.name;
    let d = s.judges.decide(j);
    if (d instanceof Promise) d = await d;
    if (!isAllowed(d))
      return s.audit.deny(
        req,
        call,
        d,
        `${req.method} for task "${id}" of tools/call "${task.publicName}"`,
        t0,
      );
    s.audit.forwarded(call, req.method, task.publicName, t0);
    const a = await s.calls.call(task.link, req.method, call.args, req.id);
    if (a === CANCELLED) return s.audit.outcome(call, req.method, task.publicName, t0, a);
    // The result of a task is the answer to the tools/call that created it.
    const as = req.method === "tasks/result" ? "tools/call" : req.method;
    const how: How = {};
    const out = await guarded(req, how, () =>
      "result" in a
        ? judgeAnswer(s, req, task.link, a.result, task.publicName, task.name, how, as)
        : a,
    );
    s.down.send({ ...out, id: req.id }, req.id);
    s.audit.outcome(call, req.method, task.publicName, t0, out, how);
  }

  /**
   * tasks/list: asked of the upstreams that created this session's tasks, answered with this
   * session's tasks only. One upstream's cursor passes through; across several, each is asked
   * for its next page and the merged cursor says where each one is (as the merged lists).
   */
  async #list(req: Request, p: Obj): Promise<void> {
    const s = this.s;
    const byName = new Map([...this.#tasks.values()].map((t) => [t.link.name, t.link]));
    const links = [...byName.values()];
    if (links.length === 0)
      return s.down.send({ jsonrpc: "2.0", id: req.id, result: { tasks: [] } }, req.id);
    const t0 = performance.now();
    const one = links.length === 1 ? links[0]!.name : null;
    const j = s.judges.judge("request", req.method, one, p, req.method);
    const call = j.call;
    let d = s.judges.decide(j);
    if (d instanceof Promise) d = await d;
    if (!isAllowed(d)) return s.audit.deny(req, call, d, req.method, t0);
    let pages: Page[];
    let nextCursor: unknown;
    if (one !== null) {
      s.audit.forwarded(call, req.method, undefined, t0);
      const a = await s.calls.call(links[0]!, req.method, call.args, req.id);
      if (a === CANCELLED) return s.audit.outcome(call, req.method, undefined, t0, CANCELLED);
      pages = [{ link: links[0]!, answer: a }];
      if ("result" in a) nextCursor = a.result.nextCursor;
    } else {
      const merged = await mergedPages(
        s,
        req,
        call.args as Obj,
        () => links,
        (n) => byName.get(n),
        () => s.audit.forwarded(call, req.method, undefined, t0),
      );
      if (merged === undefined) return;
      if (merged === CANCELLED) return s.audit.outcome(call, req.method, undefined, t0, CANCELLED);
      pages = merged.pages;
      nextCursor = merged.nextCursor;
    }
    const how: How = {};
    const out = await guarded(req, how, () => {
      const tasks: unknown[] = [];
      for (const { link, answer: a } of pages) {
        if (!("result" in a)) return a;
        const listed = Array.isArray(a.result.tasks) ? (a.result.tasks as Obj[]) : [];
        for (const t of listed)
          if (this.#tasks.get(String(t?.taskId))?.link === link) tasks.push(t);
      }
      const result: Obj = { tasks };
      if (typeof nextCursor === "string") result.nextCursor = nextCursor;
      return judgeAnswer(s, req, links[0]!, result, "", "", how, req.method);
    });
    s.down.send({ ...out, id: req.id }, req.id);
    s.audit.outcome(call, req.method, undefined, t0, out, how);
  }
}

/** `make()`, or the gateway's own error when it throws (`how.failed` set). */
async function guarded(
  req: Request,
  how: How,
  make: () => Answer | Promise<Answer>,
): Promise<Answer> {
  try {
    return await make();
  } catch (e) {
    how.failed = true;
    return errorResponse(req.id, INTERNAL_ERROR, `Warden gateway error: ${(e as Error).message}`);
  }
}
