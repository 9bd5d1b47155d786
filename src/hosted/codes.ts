/**
 * Error codes owned by the hosted layer (docs/errors.md, "hosted"). Retired codes are never
 * reused. `WASI_CODES`: the WASI host that runs inside a component's worker (src/hosted/wasi).
 */
export const WASI_CODES = {
  hosted_policy_invalid:
    "The policy or the component's grants handed to the WASI host do not compile (each error located, a Wassette file's in that file).",
  hosted_import_refused:
    "A component imports a WASI interface (or any interface) the WASI host does not provide; the message names it.",
  hosted_wasi_trap:
    "A component read stdin (hosted components get none: Warden's stdin carries MCP): the call ends with this error, never the host.",
} as const;

/**
 * `HOSTED_CODES`: components served as MCP tools (load, calls, the worker pool). A call stopped
 * by a limit answers with the sandbox's code (`timeout`, `memory_exceeded`, `fuel_exhausted`, `trap`).
 */
export const HOSTED_CODES = {
  hosted_load_failed:
    "A component cannot be served: unreadable, not a component, jco cannot transpile it, or its exported interface has no WIT source beside it.",
  hosted_function_refused:
    "An exported function takes or returns a resource handle (own/borrow), a stream or future, or is async; the message names it.",
  hosted_name_collision:
    "Two exported functions would be the same MCP tool name; the message names both components.",
  hosted_invalid_arguments:
    "A tools/call's arguments do not match the tool's inputSchema; the component did not run.",
  hosted_unknown_tool: "A tools/call named a tool no loaded component exports.",
  hosted_worker_lost:
    "The worker thread running a call stopped (crashed); it was replaced and the call failed.",
  hosted_exit: "The component called wasi:cli/exit; the call failed and the instance was dropped.",
  hosted_closed: "The component server is shutting down; the call was not run.",
  hosted_session_limit:
    "A new MCP session's call to an instance: per-session component past its bound (max_instances live instances, or their memory budget); the message names the component, the bound and the key to raise.",
  hosted_cpu_queue_full:
    "A component already runs resources.limits.cpu calls at once and 64 more wait for a core; the call was refused at once, not run.",
  hosted_cancelled:
    "A call was cancelled (by the client, or its session closed) while it waited for a core under resources.limits.cpu or for a worker thread: it did not run; or a task's call was cancelled by tasks/cancel while it ran: its worker was terminated and replaced.",
  hosted_task_limit:
    "A task-augmented tools/call while the session already has max_tasks tasks running (default 16; warden serve --max-tasks); refused with a JSON-RPC error, not run. The message names the bound and the setting.",
  hosted_task_result_too_large:
    "A task's result (its JSON) was larger than max_task_result_bytes (default 1 MiB): it was not kept; tasks/result answers this error and the task is failed. The message names the size, the bound and the setting.",
  hosted_task_results_full:
    "The results a session's tasks hold (their JSON) reached max_session_task_result_bytes (default 16 MiB; warden serve --max-session-task-result-bytes): a task-augmented tools/call is refused with a JSON-RPC error, not run, and a result that would go past it is not kept (the task is failed, tasks/result answers this error). The message names the bytes held, the bound and the setting.",
  hosted_queue_full:
    "All worker threads are busy and a component already has max_queued calls (default 64; warden serve --max-queued) waiting for one; the call was refused at once, not run. The message names the component and the setting.",
  hosted_limit_unenforceable:
    "A policy's resources.limits.cpu is a fraction of a core, which a hosted component's call (one worker thread) cannot be held to; the message names the file:line.",
} as const;

export type HostedCode = keyof typeof HOSTED_CODES;
