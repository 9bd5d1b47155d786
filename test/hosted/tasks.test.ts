/**
 * Tasks (MCP 2025-11-25) on hosted components (src/hosted/tasks.ts): a task-augmented tools/call
 * is answered with a task at once; tasks/get reports its status, tasks/result returns what the
 * plain call would have answered (structuredContent, isError), tasks/cancel ends the running
 * component (its worker terminated, hosted_cancelled), notifications/tasks/status tells the
 * client when it ended, and its host calls are audited as a plain call's. Tasks are per session
 * (one session cannot get, list or cancel another's), and the tasks running per session are
 * bounded (hosted_task_limit). A real SDK client over stdio through `warden serve`, and over the
 * SDK's in-memory transport for two sessions on one component server.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import {
  CallToolResultSchema,
  CancelTaskResultSchema,
  CreateTaskResultSchema,
  GetTaskResultSchema,
  ListTasksResultSchema,
  TaskStatusNotificationSchema,
} from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EVENTS_PER_CALL, type EventsMessage } from "../../src/hosted/event-batch.js";
import type { HostCalls } from "../../src/hosted/host-calls.js";
import { serveOn } from "../../src/hosted/mcp-server.js";
import { auditLines } from "../mcp/audit-schema.js";
import { CLI, tempDir, until } from "../mcp/helpers.js";
import { type Answer, code, withHosted } from "./_hosted.js";
import { CACHE, watComponent } from "./build.js";

let comp: string;
let dir: string;
let policy: string;

beforeAll(async () => {
  mkdirSync(CACHE, { recursive: true, mode: 0o700 });
  comp = await watComponent("peeksleeper");
  dir = tempDir();
  policy = join(dir, "limits.yaml");
  writeFileSync(
    policy,
    'version: "1.0"\nenvironment:\n  allow: ["*"]\nresources:\n  limits:\n    execution_time: 2s\n',
  );
});

const createTask = async (c: Client, name: string) =>
  (
    await c.request(
      { method: "tools/call", params: { name, arguments: {}, task: { ttl: 60_000 } } },
      CreateTaskResultSchema,
    )
  ).task;
const getTask = (c: Client, taskId: string) =>
  c.request({ method: "tasks/get", params: { taskId } }, GetTaskResultSchema);
const taskResult = async (c: Client, taskId: string) =>
  (await c.request(
    { method: "tasks/result", params: { taskId } },
    CallToolResultSchema,
  )) as unknown as Answer;

describe("tasks through warden serve (stdio)", () => {
  let c: Client;
  let audit: string;
  const statuses: { taskId: string; status: string; _meta?: unknown }[] = [];
  beforeAll(async () => {
    audit = join(dir, "serve-audit.jsonl");
    const t = new StdioClientTransport({
      command: process.execPath,
      args: [
        ...[CLI, "serve", comp, "--policy", policy, "--workers", "1"],
        ...["--max-tasks", "2", "--audit", audit],
      ],
      env: { ...process.env, WARDEN_CACHE_DIR: CACHE } as Record<string, string>,
      stderr: "pipe",
    });
    c = new Client({ name: "tasks", version: "1" });
    c.setNotificationHandler(TaskStatusNotificationSchema, (n) => {
      statuses.push(n.params as (typeof statuses)[number]);
    });
    await c.connect(t);
  }, 60_000);
  afterAll(() => c?.close());

  it("says it supports tasks for tools/call, and each tool may be called as a task", async () => {
    expect(c.getServerCapabilities()?.tasks).toMatchObject({
      list: {},
      cancel: {},
      requests: { tools: { call: {} } },
    });
    const { tools } = await c.listTools();
    for (const t of tools) expect(t.execution).toEqual({ taskSupport: "optional" });
  });

  it("a task's result is the plain call's answer (structuredContent), told by notifications/tasks/status", {
    timeout: 60_000,
  }, async () => {
    const plain = (await c.callTool({ name: "tools.ok", arguments: {} })) as unknown as Answer;
    const task = await createTask(c, "tools.ok");
    expect(task.status).toBe("working");
    expect(task.ttl).toBe(60_000);
    await until(() => statuses.some((s) => s.taskId === task.taskId), 20_000, "the status");
    expect(statuses.find((s) => s.taskId === task.taskId)).toMatchObject({ status: "completed" });
    // warden serve audits host calls itself: none ride in the notification.
    expect(statuses.find((s) => s.taskId === task.taskId)?._meta).toBeUndefined();
    expect(await getTask(c, task.taskId)).toMatchObject({ status: "completed" });
    const result = await taskResult(c, task.taskId);
    expect(result.structuredContent).toEqual(plain.structuredContent);
    expect(result.structuredContent).toEqual({ result: 7 });
    expect(result.content).toEqual(plain.content);
    expect(result.isError).toBeFalsy();
    const listed = await c.request({ method: "tasks/list", params: {} }, ListTasksResultSchema);
    expect(listed.tasks.map((t) => t.taskId)).toContain(task.taskId);
  });

  it("a call that fails is a failed task whose result is the plain call's isError answer", {
    timeout: 60_000,
  }, async () => {
    const task = await createTask(c, "tools.peek-then-sleep");
    await until(
      async () => (await getTask(c, task.taskId)).status !== "working",
      20_000,
      "the task to end",
    );
    expect((await getTask(c, task.taskId)).status).toBe("failed");
    const result = await taskResult(c, task.taskId);
    expect(result.isError).toBe(true);
    expect(code(result)).toBe("timeout");
  });

  it("tasks/cancel ends the running component (hosted_cancelled); its host call is audited; the server goes on", {
    timeout: 60_000,
  }, async () => {
    // A worker with the component ready (the last call's was terminated at its deadline).
    await c.callTool({ name: "tools.ok", arguments: {} });
    const before = auditLines(audit).filter((l) => l.kind === "host_call").length;
    const task = await createTask(c, "tools.peek-then-sleep");
    // Let the component read its environment (a judged host call) and wait in the next one.
    await new Promise((r) => setTimeout(r, 500));
    const cancelled = await c.request(
      { method: "tasks/cancel", params: { taskId: task.taskId } },
      CancelTaskResultSchema,
    );
    expect(cancelled.status).toBe("cancelled");
    // Asked at once: the answer of the ended call (by the cancel, not by its deadline, which
    // would answer `timeout`).
    const result = await taskResult(c, task.taskId);
    expect(code(result)).toBe("hosted_cancelled");
    await until(
      () => statuses.some((s) => s.taskId === task.taskId),
      20_000,
      "the status once the call ended",
    );
    await until(
      () => auditLines(audit).filter((l) => l.kind === "host_call").length > before,
      10_000,
      "the host-call audit line",
    );
    const line = auditLines(audit)
      .filter((l) => l.kind === "host_call")
      .at(-1)!;
    expect(line).toMatchObject({ name: "tools.peek-then-sleep", decision: "allow" });
    // A cancelled task cannot be cancelled again; the server answers as before.
    await expect(
      c.request(
        { method: "tasks/cancel", params: { taskId: task.taskId } },
        CancelTaskResultSchema,
      ),
    ).rejects.toThrow(/terminal/);
    expect((await c.callTool({ name: "tools.ok", arguments: {} })).structuredContent).toEqual({
      result: 7,
    });
  });

  it("hostile: tasks running per session are bounded (--max-tasks 2): the third is refused, not run", {
    timeout: 60_000,
  }, async () => {
    const a = await createTask(c, "tools.peek-then-sleep");
    const b = await createTask(c, "tools.peek-then-sleep");
    await expect(createTask(c, "tools.ok")).rejects.toThrow(
      /hosted_task_limit: .*already has 2 task\(s\) running.*--max-tasks: 2/,
    );
    for (const t of [a, b])
      await c.request(
        { method: "tasks/cancel", params: { taskId: t.taskId } },
        CancelTaskResultSchema,
      );
    await until(
      () => [a, b].every((t) => statuses.some((s) => s.taskId === t.taskId)),
      20_000,
      "both to end",
    );
    // Places free again.
    const again = await createTask(c, "tools.ok");
    expect(again.status).toBe("working");
  });

  it("an unknown task id is refused", async () => {
    await expect(getTask(c, "nope")).rejects.toThrow(/not found/i);
    await expect(taskResult(c, "nope")).rejects.toThrow(/not found/i);
  });
});

describe("tasks are per session (two SDK clients on one component server)", () => {
  it("one session cannot get, fetch, list or cancel another's task", {
    timeout: 60_000,
  }, async () => {
    await withHosted({ path: comp, policies: [policy], pool: { size: 2 } }, async (h) => {
      const clients: Client[] = [];
      try {
        for (const name of ["alice", "mallory"]) {
          const [ct, st] = InMemoryTransport.createLinkedPair();
          await serveOn(h, st);
          const c = new Client({ name, version: "1" });
          await c.connect(ct);
          clients.push(c);
        }
        const [alice, mallory] = clients as [Client, Client];
        const task = await createTask(alice, "tools.peek-then-sleep");
        await expect(getTask(mallory, task.taskId)).rejects.toThrow(/not found/i);
        await expect(taskResult(mallory, task.taskId)).rejects.toThrow(/not found/i);
        await expect(
          mallory.request(
            { method: "tasks/cancel", params: { taskId: task.taskId } },
            CancelTaskResultSchema,
          ),
        ).rejects.toThrow(/not found/i);
        const listed = await mallory.request(
          { method: "tasks/list", params: {} },
          ListTasksResultSchema,
        );
        expect(listed.tasks).toEqual([]);
        // Still Alice's, still running.
        expect((await getTask(alice, task.taskId)).status).toBe("working");
        await alice.request(
          { method: "tasks/cancel", params: { taskId: task.taskId } },
          CancelTaskResultSchema,
        );
        expect(code(await taskResult(alice, task.taskId))).toBe("hosted_cancelled");
      } finally {
        for (const c of clients) await c.close();
      }
    });
  });
});

/**
 * Run `tool` of the component built from `wat` (one worker) as a task runs it (the abort ends
 * the running call; each host call is posted to the main thread at once), and cancel it once
 * `ready` holds for the host-call messages that reached the main thread: what the call answered,
 * the host calls it was audited with, the workers replaced, and the next call's answer.
 */
async function cancelRunning(
  wat: string,
  tool: string,
  ready: (msgs: readonly EventsMessage[]) => boolean,
) {
  const seen: HostCalls[] = [];
  const opts = { policies: [policy], pool: { size: 1 } };
  return withHosted(
    { ...opts, path: await watComponent(wat), onHostCalls: (calls) => seen.push(calls) },
    async (h) => {
      await h.call("tools.ok", {});
      // What the worker posts for the call, watched on its way to the call's collector.
      const msgs: EventsMessage[] = [];
      const call = h.pool.call.bind(h.pool);
      h.pool.call = (component, name, args, timeoutMs, onEvents, ...rest) =>
        call(
          component,
          name,
          args,
          timeoutMs,
          (m) => {
            msgs.push(m);
            onEvents?.(m);
          },
          ...rest,
        );
      const stop = new AbortController();
      const running = h.call(tool, {}, { signal: stop.signal, endRunning: true });
      await until(() => ready(msgs), 30_000, `the host calls of ${tool}`);
      stop.abort();
      const answer = (await running) as Answer;
      return {
        answer,
        last: seen.at(-1)!,
        replaced: h.pool.replaced,
        next: (await h.call("tools.ok", {})) as Answer,
      };
    },
  );
}

describe("a task cancelled while its component computes (no host call in progress)", () => {
  it("its worker is terminated and the host call it made before is still audited", {
    timeout: 60_000,
  }, async () => {
    // Cancelled once its one host call reached the main thread: it spins from then on.
    const { answer, last, replaced, next } = await cancelRunning(
      "peekspinner",
      "tools.peek-then-spin",
      (msgs) => msgs.some((m) => m.events.length > 0),
    );
    expect(code(answer)).toBe("hosted_cancelled");
    expect(last.tool).toBe("tools.peek-then-spin");
    expect(last.events.map((e) => [e.function, e.decision])).toEqual([
      ["get-environment", "allow"],
    ]);
    expect(replaced).toBe(1);
    // A new worker serves the next call.
    expect(next.structuredContent).toEqual({ result: 7 });
  });
});

describe("a task cancelled while its component makes host calls without end", () => {
  it("the host calls counted past the per-call bound are kept (not lost with its worker)", {
    timeout: 60_000,
  }, async () => {
    // Cancelled once it made more host calls than a call keeps, and the count of those past the
    // bound (in the board shared with the worker) has started.
    const { answer, last, replaced } = await cancelRunning(
      "peekloop",
      "tools.peek-loop",
      (msgs) => {
        const live = msgs.find((m) => m.live?.board !== undefined)?.live;
        return live !== undefined && Atomics.load(new Int32Array(live.board!), live.index) > 0;
      },
    );
    expect(code(answer)).toBe("hosted_cancelled");
    expect(last.tool).toBe("tools.peek-loop");
    expect(last.events).toHaveLength(EVENTS_PER_CALL);
    // the calls past the bound, counted in the worker: there, though its end never came
    const counted = last.dropped.filter(
      (d) => d.function === "get-environment" && d.decision === "allow",
    );
    expect(counted).toHaveLength(1);
    expect(counted[0]!.count).toBeGreaterThan(0);
    expect(replaced).toBe(1);
  });
});

describe("task results are bounded in bytes", () => {
  it("hostile: a result over max_task_result_bytes is not kept; the task fails with hosted_task_result_too_large", {
    timeout: 60_000,
  }, async () => {
    await withHosted({ path: comp, policies: [policy], pool: { size: 1 } }, async (h) => {
      const [ct, st] = InMemoryTransport.createLinkedPair();
      // tools.ok's answer (7 as structuredContent and as text) is about 70 bytes of JSON
      await serveOn(h, st, { tasks: { maxResultBytes: 32, maxResultBytesKey: "the bound" } });
      const c = new Client({ name: "bytes", version: "1" });
      await c.connect(ct);
      const task = await createTask(c, "tools.ok");
      const result = await taskResult(c, task.taskId);
      expect(result.isError).toBe(true);
      expect(code(result)).toBe("hosted_task_result_too_large");
      expect(result._meta?.["warden/error"]).toMatchObject({
        details: { limit: 32, key: "the bound" },
      });
      expect(result.content[0]!.text).toMatch(/over the 32 .*raise the bound/);
      expect(result.structuredContent).toBeUndefined();
      expect((await getTask(c, task.taskId)).status).toBe("failed");
      // the same call without a task is answered in full
      expect((await c.callTool({ name: "tools.ok", arguments: {} })).structuredContent).toEqual({
        result: 7,
      });
      await c.close();

      // the default bound (1 MiB) keeps it
      const [ct2, st2] = InMemoryTransport.createLinkedPair();
      await serveOn(h, st2);
      const c2 = new Client({ name: "bytes2", version: "1" });
      await c2.connect(ct2);
      const t2 = await createTask(c2, "tools.ok");
      expect((await taskResult(c2, t2.taskId)).structuredContent).toEqual({ result: 7 });
      await c2.close();
    });
  });
});

describe("warden serve --max-task-result-bytes (stdio)", () => {
  it("hostile: a task's result over the flag's bound is not kept; the refusal names the flag", {
    timeout: 60_000,
  }, async () => {
    const t = new StdioClientTransport({
      command: process.execPath,
      args: [
        ...[CLI, "serve", comp, "--policy", policy, "--workers", "1"],
        ...["--max-task-result-bytes", "32"],
      ],
      env: { ...process.env, WARDEN_CACHE_DIR: CACHE } as Record<string, string>,
      stderr: "pipe",
    });
    const c = new Client({ name: "result-bytes", version: "1" });
    await c.connect(t);
    try {
      const task = await createTask(c, "tools.ok");
      const result = await taskResult(c, task.taskId);
      expect(result.isError).toBe(true);
      expect(code(result)).toBe("hosted_task_result_too_large");
      expect(result._meta?.["warden/error"]).toMatchObject({
        details: { limit: 32, key: "--max-task-result-bytes" },
      });
      expect(result.content[0]!.text).toMatch(/over the 32 .*raise --max-task-result-bytes/);
      expect((await getTask(c, task.taskId)).status).toBe("failed");
      // the plain call is answered in full
      expect((await c.callTool({ name: "tools.ok", arguments: {} })).structuredContent).toEqual({
        result: 7,
      });
    } finally {
      await c.close();
    }
  });

  it.each(["0", "-5", "1.5", "lots", "1073741825"])(
    "--max-task-result-bytes %s is refused at start, naming the flag and its range",
    (v) => {
      const r = spawnSync(
        process.execPath,
        [CLI, "serve", comp, "--policy", policy, "--max-task-result-bytes", v],
        { env: { ...process.env, WARDEN_CACHE_DIR: CACHE }, encoding: "utf8", input: "" },
      );
      expect(r.status).toBe(2);
      expect(r.stderr).toContain(
        `--max-task-result-bytes must be a whole number from 1 to 1073741824 (got "${v}")`,
      );
    },
  );
});

describe("the task results a session holds are bounded in all (--max-session-task-result-bytes)", () => {
  const serveHolding = async (bound: number, audit: string) => {
    const t = new StdioClientTransport({
      command: process.execPath,
      args: [
        ...[CLI, "serve", comp, "--policy", policy, "--workers", "1"],
        ...["--max-session-task-result-bytes", String(bound), "--audit", audit],
      ],
      env: { ...process.env, WARDEN_CACHE_DIR: CACHE } as Record<string, string>,
      stderr: "pipe",
    });
    const c = new Client({ name: "hoarder", version: "1" });
    await c.connect(t);
    return c;
  };
  const start = async (c: Client, ttl: number) =>
    (
      await c.request(
        { method: "tools/call", params: { name: "tools.ok", arguments: {}, task: { ttl } } },
        CreateTaskResultSchema,
      )
    ).task.taskId;
  type Refusal = { code: string; details: { bytes: number; held: number; limit: number } };

  it("hostile: a client holding many task results; past the bound a result is not kept, then no task starts; results held earlier stay whole; audited; room comes back at their ttl", {
    timeout: 90_000,
  }, async () => {
    // a hoarder that never lets its results go (ttl an hour); 400 bytes hold a few of tools.ok's
    const auditA = join(dir, "hoard-a.jsonl");
    const a = await serveHolding(400, auditA);
    let full: Refusal;
    const kept: string[] = [];
    try {
      for (;;) {
        const id = await start(a, 3_600_000);
        const r = await taskResult(a, id);
        if (r.isError === true) {
          expect(code(r)).toBe("hosted_task_results_full");
          expect(r.content[0]!.text).toMatch(
            /already holds \d+ bytes of task results, the most it may is 400 \(--max-session-task-result-bytes\); it was not kept/,
          );
          expect((await getTask(a, id)).status).toBe("failed");
          full = r._meta!["warden/error"] as Refusal;
          break;
        }
        expect(r.structuredContent).toEqual({ result: 7 });
        kept.push(id);
        expect(kept.length).toBeLessThan(400);
      }
      expect(kept.length).toBeGreaterThan(0);
      expect(full.details).toMatchObject({ limit: 400, held: kept.length * full.details.bytes });
      expect(full.details.held + full.details.bytes).toBeGreaterThan(400);
      // the results held before are whole, not evicted to make room
      for (const id of kept)
        expect((await taskResult(a, id)).structuredContent).toEqual({ result: 7 });
      // the plain call is answered in full
      expect((await a.callTool({ name: "tools.ok", arguments: {} })).structuredContent).toEqual({
        result: 7,
      });
      await until(
        () => auditLines(auditA).some((l) => l.kind === "task_refused"),
        10_000,
        "the task_refused line",
      );
      expect(auditLines(auditA).find((l) => l.kind === "task_refused")).toMatchObject({
        phase: "event",
        decision: "deny",
        code: "hosted_task_results_full",
        name: "tools.ok",
        caller: "stdio",
      });
    } finally {
      await a.close();
    }

    // held results exactly at the bound: the next task is refused before it runs
    const auditB = join(dir, "hoard-b.jsonl");
    const bound = 2 * full.details.bytes;
    const b = await serveHolding(bound, auditB);
    try {
      for (let i = 0; i < 2; i++) {
        const id = await start(b, 3_000);
        expect((await taskResult(b, id)).structuredContent).toEqual({ result: 7 });
      }
      await expect(start(b, 3_000)).rejects.toThrow(
        new RegExp(
          `hosted_task_results_full: this session already holds ${bound} bytes of task results.*--max-session-task-result-bytes: ${bound}.*was not run`,
        ),
      );
      await until(
        () =>
          auditLines(auditB).some(
            (l) => l.kind === "task_refused" && l.code === "hosted_task_results_full",
          ),
        10_000,
        "the task_refused line",
      );
      // their ttl (3 s) ends: they are forgotten and a task starts again
      let again: string | undefined;
      await until(
        async () => {
          again = await start(b, 3_000).catch(() => undefined);
          return again !== undefined;
        },
        30_000,
        "room after the held results' ttl",
      );
      expect((await taskResult(b, again!)).structuredContent).toEqual({ result: 7 });
    } finally {
      await b.close();
    }
  });

  it.each(["0", "2.5", "68719476737"])(
    "--max-session-task-result-bytes %s is refused at start, naming the flag and its range",
    (v) => {
      const r = spawnSync(
        process.execPath,
        [CLI, "serve", comp, "--policy", policy, "--max-session-task-result-bytes", v],
        { env: { ...process.env, WARDEN_CACHE_DIR: CACHE }, encoding: "utf8", input: "" },
      );
      expect(r.status).toBe(2);
      expect(r.stderr).toContain(
        `--max-session-task-result-bytes must be a whole number from 1 to 68719476736 (got "${v}")`,
      );
    },
  );
});
