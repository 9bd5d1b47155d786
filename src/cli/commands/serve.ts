/**
 * `warden serve <file|dir> --policy P [--inspect] [--stateful]`: WebAssembly components as an
 * MCP server over stdio (docs/hosted-tools.md). `--inspect` prints the tools it would expose as
 * JSON and exits.
 */
import { resolve } from "node:path";
import type { Command } from "commander";
import type { WardenError } from "../../core/errors.js";
import type { HostCalls } from "../../hosted/host-calls.js";
import type { CallContext, ReloadOutcome } from "../../hosted/server.js";
import { printJson, usageError } from "../output.js";

interface ServeOpts {
  policy?: string[];
  inspect?: boolean;
  stateful?: boolean;
  instance?: string;
  http?: string;
  workers?: string;
  audit?: string;
  maxInstances?: string;
  instancesMemoryMb?: string;
  maxQueued?: string;
  maxTasks?: string;
  maxTaskResultBytes?: string;
  maxSessionTaskResultBytes?: string;
}

export function registerServe(program: Command): void {
  program
    .command("serve <path>")
    .description(
      "Serve WebAssembly components (a .wasm file or a folder of them) as MCP tools over stdio: every exported function is a tool; host calls are judged by the policy.",
    )
    .option(
      "-p, --policy <file>",
      "policy file granting host calls and setting limits (repeat: every one must allow)",
      (v: string, acc: string[] = []) => [...acc, v],
    )
    .option("--inspect", "print the tools it would expose as JSON and exit")
    .option(
      "--stateful",
      "keep one instance per component across calls (default: fresh state per call)",
    )
    .option(
      "--instance <mode>",
      "per-call (default: fresh state per call), per-session (one instance per MCP session), or stateful (as --stateful)",
    )
    .option("--workers <n>", "worker threads running components (default: min(4, cores))")
    .option(
      "--max-instances <n>",
      "--instance per-session: live instances of each component at most (default 16)",
    )
    .option(
      "--instances-memory-mb <n>",
      "--instance per-session: memory budget across each component's instances, MiB (default 1024)",
    )
    .option(
      "--max-queued <n>",
      "calls of each component that may wait for a worker thread when all are busy (default 64; past it hosted_queue_full)",
    )
    .option(
      "--max-tasks <n>",
      "tasks (task-augmented tools/call) of the session running at once (default 16; past it hosted_task_limit)",
    )
    .option(
      "--max-task-result-bytes <n>",
      "a task's result (its JSON) kept for tasks/result, bytes at most (default 1048576; past it hosted_task_result_too_large)",
    )
    .option(
      "--max-session-task-result-bytes <n>",
      "the task results one session holds for tasks/result, bytes of JSON in all (default 16777216; past it hosted_task_results_full)",
    )
    .option(
      "--audit <file>",
      "append every host call the components make (judged in their workers) as one JSON line to this file (- for stderr)",
    )
    .option(
      "--http <host:port>",
      "serve over Streamable HTTP instead, through the gateway's hardened HTTP front (one component upstream; the first --policy is the gateway's)",
    )
    .action(async (path: string, opts: ServeOpts) => {
      if (opts.http !== undefined && opts.inspect !== true) {
        await serveHttp(path, opts);
        return;
      }
      const workers = opts.workers === undefined ? undefined : Number(opts.workers);
      if (workers !== undefined && (!Number.isInteger(workers) || workers < 1 || workers > 64))
        throw usageError(`--workers must be a whole number from 1 to 64 (got "${opts.workers}")`);
      const instance = instanceMode(opts);
      const bounds = sessionBounds(opts);
      const { HostedServer } = await import("../../hosted/server.js");
      const audit = opts.audit === undefined ? undefined : await hostAudit(opts.audit);
      const hosted = await HostedServer.open({
        path,
        watch: opts.inspect !== true,
        ...(audit === undefined ? {} : { onHostCalls: audit.hostCalls }),
        policies: opts.policy ?? [],
        instance,
        sessions: {
          ...(bounds.max === undefined ? {} : { max: bounds.max }),
          ...(bounds.mb === undefined ? {} : { memoryBytes: bounds.mb * 1024 * 1024 }),
          keys: { max: "--max-instances", memory: "--instances-memory-mb" },
        },
        pool: {
          ...(workers === undefined ? {} : { size: workers }),
          ...(bounds.queued === undefined ? {} : { maxQueued: bounds.queued }),
          maxQueuedKey: "--max-queued",
        },
      });
      if (opts.inspect) {
        printJson({
          components: hosted.components.map((c) => ({
            name: c.name,
            file: c.file,
            sha256: c.sha256,
            imports: c.imports,
          })),
          limits: hosted.limits,
          tools: hosted.tools(),
        });
        await hosted.close();
        return;
      }
      hosted.onReload((r) => {
        const what = r.components.join(", ");
        process.stderr.write(
          r.ok
            ? `warden serve: reloaded ${what}\n`
            : `warden serve: the changed component or policy could not be loaded (${r.error?.code}: ${r.error?.message}); the previous version keeps serving (${what})\n`,
        );
        audit?.reload(r);
      });
      const { serveOn } = await import("../../hosted/mcp-server.js");
      const { StdioServerTransport } = await import("@modelcontextprotocol/sdk/server/stdio.js");
      const transport = new StdioServerTransport();
      const closed = new Promise<void>((r) => {
        transport.onclose = r;
      });
      const server = await serveOn(hosted, transport, {
        tasks: {
          ...(bounds.tasks === undefined ? {} : { maxLive: bounds.tasks }),
          maxLiveKey: "--max-tasks",
          ...(bounds.resultBytes === undefined ? {} : { maxResultBytes: bounds.resultBytes }),
          maxResultBytesKey: "--max-task-result-bytes",
          ...(bounds.heldBytes === undefined ? {} : { maxHeldBytes: bounds.heldBytes }),
          maxHeldBytesKey: "--max-session-task-result-bytes",
          ...(audit === undefined ? {} : { onRefused: audit.taskRefused }),
        },
      });
      // Bytes of a request arrived: the worker likely to run it wakes while the SDK parses them.
      process.stdin.prependListener("data", () => hosted.pool.prewake());
      const stop = () => void server.close();
      process.once("SIGTERM", stop);
      process.once("SIGINT", stop);
      process.stdin.once("end", stop);
      await closed;
      await hosted.close();
      setImmediate(() => process.exit(process.exitCode ?? 0));
    });
}

/**
 * `--http host:port`: the gateway with this one component upstream, listening on HTTP: the same
 * hardened front (limits, Host/Origin checks, sessions, /healthz) and the same policy, guards
 * and audit as `warden gateway`. The first --policy is the gateway's; a second one is the
 * component's own (both must allow).
 */
/** --max-instances, --instances-memory-mb, --max-queued and the task bounds: whole numbers. */
function sessionBounds(opts: ServeOpts): {
  max?: number;
  mb?: number;
  queued?: number;
  tasks?: number;
  resultBytes?: number;
  heldBytes?: number;
} {
  const num = (flag: string, v: string | undefined, max: number) => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1 || n > max)
      throw usageError(`${flag} must be a whole number from 1 to ${max} (got "${v}")`);
    return n;
  };
  const max = num("--max-instances", opts.maxInstances, 100_000);
  const mb = num("--instances-memory-mb", opts.instancesMemoryMb, 1_048_576);
  const queued = opts.maxQueued === "0" ? 0 : num("--max-queued", opts.maxQueued, 100_000);
  const tasks = num("--max-tasks", opts.maxTasks, 10_000);
  // the bound of the gateway's max_task_result_bytes (schemas/warden.schema.json)
  const resultBytes = num("--max-task-result-bytes", opts.maxTaskResultBytes, 1_073_741_824);
  const heldBytes = num(
    "--max-session-task-result-bytes",
    opts.maxSessionTaskResultBytes,
    68_719_476_736,
  );
  return {
    ...(heldBytes === undefined ? {} : { heldBytes }),
    ...(tasks === undefined ? {} : { tasks }),
    ...(resultBytes === undefined ? {} : { resultBytes }),
    ...(max === undefined ? {} : { max }),
    ...(mb === undefined ? {} : { mb }),
    ...(queued === undefined ? {} : { queued }),
  };
}

/** --instance, or --stateful (which is --instance stateful). */
function instanceMode(opts: ServeOpts): "per-call" | "per-session" | "stateful" {
  const mode = opts.instance ?? (opts.stateful === true ? "stateful" : "per-call");
  if (mode !== "per-call" && mode !== "per-session" && mode !== "stateful")
    throw usageError(`--instance takes per-call, per-session or stateful (got "${mode}")`);
  if (opts.stateful === true && mode !== "stateful")
    throw usageError(`--stateful and --instance ${mode} disagree; keep one`);
  return mode;
}

async function serveHttp(path: string, opts: ServeOpts): Promise<void> {
  const m = /^(.+):(\d{1,5})$/.exec(opts.http ?? "");
  const port = m ? Number(m[2]) : Number.NaN;
  if (m === null || port > 65535)
    throw usageError(`--http must be host:port, e.g. 127.0.0.1:8940 (got "${opts.http}")`);
  const policies = opts.policy ?? [];
  if (policies.length === 0 || policies.length > 2)
    throw usageError(
      "--http needs --policy (the gateway's), and at most one more (the component's own)",
    );
  const q = JSON.stringify;
  const bounds = sessionBounds(opts);
  const host = m[1]!.replace(/^\[(.*)\]$/, "$1");
  const text = [
    `listen: { http: { host: ${q(host)}, port: ${port} } }`,
    `policy: ${q(resolve(policies[0]!))}`,
    ...(opts.audit === undefined
      ? []
      : [`audit: { file: ${q(opts.audit === "-" ? "-" : resolve(opts.audit))} }`]),
    "upstreams:",
    "  - name: components",
    `    component: ${q(resolve(path))}`,
    ...(policies[1] === undefined ? [] : [`    policy: ${q(resolve(policies[1]))}`]),
    `    instance: ${instanceMode(opts)}`,
    ...(bounds.max === undefined ? [] : [`    max_instances: ${bounds.max}`]),
    ...(bounds.mb === undefined ? [] : [`    instances_memory_mb: ${bounds.mb}`]),
    ...(bounds.queued === undefined ? [] : [`    max_queued: ${bounds.queued}`]),
    ...(bounds.tasks === undefined ? [] : [`    max_tasks: ${bounds.tasks}`]),
    ...(bounds.resultBytes === undefined
      ? []
      : [`    max_task_result_bytes: ${bounds.resultBytes}`]),
    ...(bounds.heldBytes === undefined
      ? []
      : [`    max_session_task_result_bytes: ${bounds.heldBytes}`]),
    "",
  ].join("\n");
  const { parseConfig } = await import("../../mcp/config.js");
  const { Gateway } = await import("../../mcp/gateway.js");
  const parsed = parseConfig(text, resolve("warden-serve.yaml"));
  if (!parsed.ok) throw usageError(parsed.errors.map((e) => `${e.key}: ${e.message}`).join("; "));
  const gw = await Gateway.start({ config: parsed.config, watch: false });
  if (gw.address)
    process.stderr.write(
      `warden serve: listening on http://${gw.address.address}:${gw.address.port}/mcp\n`,
    );
  const stop = () => void gw.stop();
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
  await gw.stopped;
  setImmediate(() => process.exit(process.exitCode ?? 0));
}

/**
 * `--audit`: each tool call's host calls as audit lines in the gateway's one record shape
 * (docs/audit.md, `phase: event, kind: host_call`), caller `stdio`, one session id per process,
 * the lines of one tool call sharing its call_id.
 */
async function hostAudit(file: string) {
  const { AuditLog } = await import("../../audit/writer.js");
  const { newCallId } = await import("../../audit/record.js");
  const { hostCallEntries } = await import("../../hosted/host-calls.js");
  const log = new AuditLog({ file: file === "-" ? "-" : resolve(file), arguments: "redacted" });
  const session = newCallId();
  const flush = () => log.flush();
  process.once("exit", flush);
  const reload = (r: ReloadOutcome) => {
    log.write({
      time: new Date().toISOString(),
      call_id: newCallId(),
      phase: "event",
      kind: "component_reload",
      caller: null,
      session,
      upstream: null,
      method: "components/reload",
      decision: r.ok ? "allow" : "deny",
      reason: r.ok
        ? `reloaded ${r.components.join(", ")}`
        : `the changed version could not be loaded (${r.error?.message ?? "unknown"}); the previous one keeps serving`,
      ...(r.error === undefined ? {} : { code: r.error.code }),
      trigger: "file",
      duration_ms: 0,
    });
  };
  const hostCalls = (calls: HostCalls, context: CallContext) => {
    const callId = newCallId();
    for (const rec of hostCallEntries(calls, null, calls.tool, callId)) {
      const { call_id, ...rest } = rec;
      log.write({
        time: new Date().toISOString(),
        call_id: call_id ?? callId,
        caller: "stdio",
        ...(context.client === undefined ? {} : { client: context.client }),
        session,
        ...rest,
      });
    }
  };
  // A task refused (hosted_task_limit, hosted_task_results_full: its tools/call not run) or its
  // result not kept (hosted_task_result_too_large, hosted_task_results_full).
  const taskRefused = (e: WardenError, tool: string) => {
    log.write({
      time: new Date().toISOString(),
      call_id: newCallId(),
      phase: "event",
      kind: "task_refused",
      caller: "stdio",
      session,
      upstream: null,
      method: "tools/call",
      name: tool,
      decision: "deny",
      reason: e.message,
      code: e.code,
      duration_ms: 0,
    });
  };
  return { hostCalls, reload, taskRefused };
}
