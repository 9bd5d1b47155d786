/**
 * Tasks (MCP 2025-11-25) of one MCP session over hosted components: a tools/call sent with
 * `task` is answered at once with a task; the call runs in the worker pool and the client asks
 * tasks/get (status), tasks/result (the answer a plain call would have had), tasks/list and
 * tasks/cancel. This is the SDK's `TaskStore` (the SDK's Protocol answers tasks/* from it), one
 * per MCP server, so one per session: a session never sees another's task ids.
 *
 * Bounded: at most `maxLive` tasks of a session run at once (past it the tools/call is refused,
 * `hosted_task_limit`), at most `maxKept` are remembered (the oldest ended one is forgotten
 * first), and an ended task is forgotten `ttl` after it ended (the client's `ttl`, at most
 * `maxTtlMs`; unset: `defaultTtlMs`, never kept for ever). Results held: each at most
 * `maxResultBytes` of JSON, and all of a session's together at most `maxHeldBytes` (past it a
 * result is not kept, `hosted_task_results_full`, and no task starts until some are forgotten). tasks/cancel (the SDK's handler sets
 * the status `cancelled`) aborts the running call: its worker is terminated (./pool.ts).
 */
import type {
  CreateTaskOptions,
  TaskStore,
} from "@modelcontextprotocol/sdk/experimental/tasks/interfaces.js";
import type { Request, RequestId, Result, Task } from "@modelcontextprotocol/sdk/types.js";
import { WardenError } from "../core/errors.js";

/** Tasks of one session running at once, at most (by default). */
export const MAX_LIVE_TASKS = 16;
/** Tasks of one session remembered (running or ended), at most. */
export const MAX_KEPT_TASKS = 256;
/** An ended task is forgotten this long after it ended when the client asked no `ttl`. */
export const DEFAULT_TASK_TTL_MS = 5 * 60_000;
/** ... and at most this long whatever it asked. */
export const MAX_TASK_TTL_MS = 60 * 60_000;
/** A task's result (its JSON) kept for tasks/result at most this many bytes (by default). */
export const MAX_TASK_RESULT_BYTES = 1024 * 1024;
/** The results of one session's tasks held for tasks/result, bytes of their JSON in all (by default). */
export const MAX_HELD_TASK_RESULT_BYTES = 16 * 1024 * 1024;
/** tasks/list page size. */
const PAGE = 50;

export interface TaskBounds {
  maxLive?: number;
  /** The setting a user raises for `maxLive`, as the refusal names it. */
  maxLiveKey?: string;
  maxKept?: number;
  defaultTtlMs?: number;
  maxTtlMs?: number;
  /** A task's result kept for tasks/result, in bytes of its JSON, at most (MAX_TASK_RESULT_BYTES). */
  maxResultBytes?: number;
  /** The setting a user raises for `maxResultBytes`, as the refusal names it. */
  maxResultBytesKey?: string;
  /** The results of the session's tasks held, bytes of their JSON in all, at most (MAX_HELD_TASK_RESULT_BYTES). */
  maxHeldBytes?: number;
  /** The setting a user raises for `maxHeldBytes`, as the refusal names it. */
  maxHeldBytesKey?: string;
  /**
   * A task refused (its tools/call not run) or its result not kept: told with the error and the
   * tool, to be audited (`warden serve --audit`).
   */
  onRefused?: (e: WardenError, tool: string) => void;
}

interface Kept {
  task: Task;
  /** The tool the task's tools/call named. */
  tool: string;
  result?: Result;
  /** Bytes of the result's JSON counted in the session's held total (0: none, or a refusal). */
  bytes: number;
  /** Aborts the running call (tasks/cancel, the session's close). */
  stop?: AbortController;
  timer?: NodeJS.Timeout;
  /** Resolves when the call has ended (its result stored): tasks/result of a task cancelled while it ran waits for it. */
  settled: Promise<void>;
  settle: () => void;
}

const TERMINAL = new Set(["completed", "failed", "cancelled"]);
export const isTerminal = (s: string) => TERMINAL.has(s);

export class SessionTasks implements TaskStore {
  readonly #tasks = new Map<string, Kept>();
  readonly #maxLive: number;
  readonly #maxKept: number;
  readonly #defaultTtl: number;
  readonly #maxTtl: number;
  readonly #maxResultBytes: number;
  readonly #maxHeld: number;
  /** Bytes of the results held now (the sum of every kept task's `bytes`). */
  #held = 0;

  constructor(
    private readonly component: () => string,
    private readonly bounds: TaskBounds = {},
  ) {
    const int = (v: number | undefined, d: number) =>
      v !== undefined && Number.isInteger(v) && v >= 1 ? v : d;
    this.#maxLive = int(bounds.maxLive, MAX_LIVE_TASKS);
    this.#maxKept = Math.max(this.#maxLive, int(bounds.maxKept, MAX_KEPT_TASKS));
    this.#maxTtl = int(bounds.maxTtlMs, MAX_TASK_TTL_MS);
    this.#maxResultBytes = int(bounds.maxResultBytes, MAX_TASK_RESULT_BYTES);
    this.#maxHeld = int(bounds.maxHeldBytes, MAX_HELD_TASK_RESULT_BYTES);
    this.#defaultTtl = Math.min(this.#maxTtl, int(bounds.defaultTtlMs, DEFAULT_TASK_TTL_MS));
  }

  /** Tasks of this session running now. */
  get live(): number {
    let n = 0;
    for (const k of this.#tasks.values()) if (!isTerminal(k.task.status)) n++;
    return n;
  }

  /** Bytes of the results this session's tasks hold now (bounded by maxHeldBytes). */
  get heldBytes(): number {
    return this.#held;
  }

  async createTask(params: CreateTaskOptions, _id: RequestId, request: Request): Promise<Task> {
    const tool = String((request.params as { name?: unknown } | undefined)?.name ?? "");
    if (this.live >= this.#maxLive) {
      const key = this.bounds.maxLiveKey ?? "max_tasks";
      throw this.#refused(
        new WardenError(
          "hosted_task_limit",
          `this session already has ${this.#maxLive} task(s) running on ${this.component()}, the most it may (${key}: ${this.#maxLive}); the tools/call of ${tool} was not run. Wait for one to end (tasks/get, tasks/result) or cancel one (tasks/cancel), or raise ${key}.`,
          { category: "denied", details: { tool, live: this.#maxLive, key } },
        ),
        tool,
      );
    }
    // The held results fill the bound: forgetting the oldest ended tasks makes room only when
    // the session remembers as many as it may (as below); otherwise the client waits for ttls.
    if (this.#held >= this.#maxHeld) {
      const key = this.bounds.maxHeldBytesKey ?? "max_session_task_result_bytes";
      throw this.#refused(
        new WardenError(
          "hosted_task_results_full",
          `this session already holds ${this.#held} bytes of task results on ${this.component()}, the most it may (${key}: ${this.#maxHeld}); the tools/call of ${tool} was not run. Held results are forgotten when their ttl ends: ask a shorter ttl, call the tool without a task, or raise ${key}.`,
          { category: "denied", details: { tool, held: this.#held, limit: this.#maxHeld, key } },
        ),
        tool,
      );
    }
    if (this.#tasks.size >= this.#maxKept) {
      for (const [id, k] of this.#tasks)
        if (isTerminal(k.task.status)) {
          this.#forget(id);
          break;
        }
    }
    const asked = typeof params.ttl === "number" && params.ttl > 0 ? params.ttl : this.#defaultTtl;
    const now = new Date().toISOString();
    const task: Task = {
      taskId: crypto.randomUUID(),
      status: "working",
      ttl: Math.min(Math.floor(asked), this.#maxTtl),
      createdAt: now,
      lastUpdatedAt: now,
      pollInterval: params.pollInterval ?? 500,
    };
    let settle!: () => void;
    const settled = new Promise<void>((r) => {
      settle = r;
    });
    this.#tasks.set(task.taskId, { task, tool, bytes: 0, settled, settle });
    return { ...task };
  }

  /** The running call of a task: aborted by tasks/cancel and by `close`. */
  running(taskId: string, stop: AbortController): void {
    const k = this.#tasks.get(taskId);
    if (k !== undefined) k.stop = stop;
  }

  /**
   * The task's call ended with `result`: stored as completed (`isError`: failed), or kept with
   * the cancelled status the task already has, so that tasks/result still says what happened.
   * Returns the task as it is now (undefined once forgotten).
   */
  ended(taskId: string, result: Result & { isError?: boolean }): Task | undefined {
    const k = this.#tasks.get(taskId);
    if (k === undefined) return undefined;
    k.stop = undefined;
    this.#keep(k, result);
    k.settle();
    if (!isTerminal(k.task.status)) {
      k.task.status = k.result?.isError === true ? "failed" : "completed";
      k.task.lastUpdatedAt = new Date().toISOString();
    }
    this.#expireLater(taskId, k);
    return { ...k.task };
  }

  /**
   * Keep `result` as the task's (counted in the session's held bytes), unless it is over
   * maxResultBytes (its JSON): `hosted_task_result_too_large`, or would take the session's held
   * results over maxHeldBytes: `hosted_task_results_full`. Such a result is not kept: the task's
   * result is that refusal (naming the size, the bound and the setting) and the task fails.
   */
  #keep(k: Kept, result: Result & { isError?: boolean }): void {
    const bytes = Buffer.byteLength(JSON.stringify(result));
    let e: WardenError | undefined;
    if (bytes > this.#maxResultBytes) {
      const key = this.bounds.maxResultBytesKey ?? "max_task_result_bytes";
      e = new WardenError(
        "hosted_task_result_too_large",
        `the result of this task on ${this.component()} is ${bytes} bytes, over the ${this.#maxResultBytes} a task's result may keep (${key}); it was not kept. Call the tool without a task, make its answer smaller, or raise ${key}.`,
        { category: "denied", details: { bytes, limit: this.#maxResultBytes, key } },
      );
    } else if (this.#held + bytes > this.#maxHeld) {
      const key = this.bounds.maxHeldBytesKey ?? "max_session_task_result_bytes";
      e = new WardenError(
        "hosted_task_results_full",
        `the result of this task on ${this.component()} is ${bytes} bytes, and this session already holds ${this.#held} bytes of task results, the most it may is ${this.#maxHeld} (${key}); it was not kept. Held results are forgotten when their ttl ends: ask a shorter ttl, call the tool without a task, or raise ${key}.`,
        {
          category: "denied",
          details: { bytes, held: this.#held, limit: this.#maxHeld, key },
        },
      );
    }
    this.#held -= k.bytes;
    if (e === undefined) {
      k.result = result;
      k.bytes = bytes;
      this.#held += bytes;
      return;
    }
    this.#refused(e, k.tool);
    k.bytes = 0;
    k.result = {
      content: [{ type: "text", text: `${e.code}: ${e.message}` }],
      isError: true,
      _meta: { "warden/error": e.toJSON() },
    };
  }

  #refused(e: WardenError, tool: string): WardenError {
    try {
      this.bounds.onRefused?.(e, tool);
    } catch {
      // an audit writer's failure is its own to report; the refusal stands
    }
    return e;
  }

  async getTask(taskId: string): Promise<Task | null> {
    const k = this.#tasks.get(taskId);
    return k === undefined ? null : { ...k.task };
  }

  async storeTaskResult(
    taskId: string,
    status: "completed" | "failed",
    result: Result,
  ): Promise<void> {
    const k = this.#known(taskId);
    if (isTerminal(k.task.status)) throw new Error(`Task ${taskId} has already ended`);
    this.#keep(k, result);
    k.settle();
    k.task.status = k.result !== result ? "failed" : status;
    k.task.lastUpdatedAt = new Date().toISOString();
    this.#expireLater(taskId, k);
  }

  async getTaskResult(taskId: string): Promise<Result> {
    const k = this.#known(taskId);
    // Cancelled while it ran: its worker is being terminated; its answer (hosted_cancelled,
    // with what it was refused) comes at once.
    if (k.result === undefined && k.stop !== undefined) await k.settled;
    if (k.result === undefined) throw new Error(`Task ${taskId} has no result yet`);
    return k.result;
  }

  async updateTaskStatus(taskId: string, status: Task["status"], message?: string): Promise<void> {
    const k = this.#known(taskId);
    if (isTerminal(k.task.status))
      throw new Error(`Task ${taskId} has already ended (${k.task.status})`);
    k.task.status = status;
    if (message !== undefined) k.task.statusMessage = message;
    k.task.lastUpdatedAt = new Date().toISOString();
    // tasks/cancel: the running call ends (its worker terminated); its answer still comes
    // (`ended`), with the host calls it made.
    if (status === "cancelled") k.stop?.abort();
    if (isTerminal(status) && k.stop === undefined) this.#expireLater(taskId, k);
  }

  async listTasks(cursor?: string): Promise<{ tasks: Task[]; nextCursor?: string }> {
    const ids = [...this.#tasks.keys()];
    let start = 0;
    if (cursor !== undefined) {
      const i = ids.indexOf(cursor);
      if (i < 0) throw new Error(`Invalid cursor: ${cursor}`);
      start = i + 1;
    }
    const page = ids.slice(start, start + PAGE);
    const tasks = page.map((id) => ({ ...this.#tasks.get(id)!.task }));
    return start + PAGE < ids.length ? { tasks, nextCursor: page.at(-1)! } : { tasks };
  }

  /** The session closed: every running call is aborted, every task forgotten. */
  close(): void {
    for (const k of this.#tasks.values()) {
      clearTimeout(k.timer);
      k.stop?.abort();
      k.settle();
    }
    this.#tasks.clear();
    this.#held = 0;
  }

  #known(taskId: string): Kept {
    const k = this.#tasks.get(taskId);
    if (k === undefined) throw new Error(`Task ${taskId} not found`);
    return k;
  }

  #expireLater(taskId: string, k: Kept): void {
    clearTimeout(k.timer);
    k.timer = setTimeout(() => this.#forget(taskId), k.task.ttl ?? this.#defaultTtl);
    k.timer.unref();
  }

  #forget(taskId: string): void {
    const k = this.#tasks.get(taskId);
    if (k === undefined) return;
    clearTimeout(k.timer);
    k.stop?.abort();
    k.settle();
    this.#held -= k.bytes;
    this.#tasks.delete(taskId);
  }
}
