/**
 * Tasks of a `component:` upstream through the gateway (Streamable HTTP, real SDK clients): the
 * task-augmented tools/call and every tasks/* request are judged and audited as for any upstream
 * (src/mcp/session-tasks.ts); tasks/result is the plain call's answer; the host calls of the
 * task's call are audited with the call_id of the tools/call that created it and never reach the
 * client (they ride in notifications/tasks/status's _meta from the component server, taken out);
 * another session cannot reach the task; a session closed with a task running cancels it and its
 * host calls are still audited.
 */
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import {
  CallToolResultSchema,
  CancelTaskResultSchema,
  CreateTaskResultSchema,
  GetTaskResultSchema,
} from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Gateway } from "../../src/mcp/gateway.js";
import { type ClientLog, httpClient, until } from "../mcp/helpers.js";
import { auditOf, hostCallsIn, sleeperGateway, slowSleeping } from "./_sleeper-gateway.js";

type Answer = {
  structuredContent?: unknown;
  isError?: boolean;
  content: { text: string }[];
  _meta?: Record<string, unknown>;
};
const code = (a: Answer) => (a._meta?.["warden/error"] as { code?: string } | undefined)?.code;

let dir: string;
let gw: Gateway;
let url: string;
const read = () => auditOf(dir);
const hostCallsOf = (id: unknown) => hostCallsIn(dir, id);

beforeAll(async () => {
  ({ gw, url, dir } = await sleeperGateway({
    policy: 'environment:\n  allow: ["*"]\n',
    upstream: "    max_tasks: 2\n",
  }));
}, 120_000);
afterAll(() => gw?.stop());

async function createTask(c: Client, name: string): Promise<string> {
  const r = await c.request(
    { method: "tools/call", params: { name, arguments: {}, task: { ttl: 60_000 } } },
    CreateTaskResultSchema,
  );
  return r.task.taskId;
}
const taskResult = async (c: Client, taskId: string) =>
  (await c.request(
    { method: "tasks/result", params: { taskId } },
    CallToolResultSchema,
  )) as unknown as Answer;
/** The call_id of the last tools/call decision line naming `name`. */
const lastCall = (name: string) =>
  read()
    .filter((l) => l.phase === "decision" && l.method === "tools/call" && l.name === name)
    .at(-1)?.call_id;

describe("tasks of a component upstream through the gateway", () => {
  it("judged, audited, the result as a plain call's; tasks/cancel stops the component; host calls audited under the tools/call's call_id, never sent to the client", {
    timeout: 60_000,
  }, async () => {
    const log: ClientLog = { roots: [], notifications: [] };
    const c = await httpClient(url, log);
    try {
      expect(c.getServerCapabilities()?.tasks).toMatchObject({
        requests: { tools: { call: {} } },
      });
      const { tools } = await c.listTools();
      const ok = tools.find((t) => t.name.endsWith("tools.ok"))!.name;
      const sleep = tools.find((t) => t.name.endsWith("peek-then-sleep"))!.name;
      const plain = (await c.callTool({ name: ok, arguments: {} })) as unknown as Answer;
      const done = await createTask(c, ok);
      await until(
        async () =>
          (await c.request({ method: "tasks/get", params: { taskId: done } }, GetTaskResultSchema))
            .status === "completed",
        20_000,
        "the task to complete",
      );
      const result = await taskResult(c, done);
      expect(result.structuredContent).toEqual(plain.structuredContent);
      expect(result.isError).toBeFalsy();
      expect(
        read()
          .filter((l) => l.method === "tasks/result")
          .map((l) => [l.phase, l.name, l.decision]),
      ).toEqual([
        ["decision", ok, "allow"],
        ["outcome", ok, "allow"],
      ]);

      // A task that makes a host call, then waits: cancelled while it runs.
      const sleeping = slowSleeping();
      const taskId = await createTask(c, sleep);
      const callId = lastCall(sleep);
      await sleeping;
      const cancelled = await c.request(
        { method: "tasks/cancel", params: { taskId } },
        CancelTaskResultSchema,
      );
      expect(cancelled.status).toBe("cancelled");
      expect(code(await taskResult(c, taskId))).toBe("hosted_cancelled");
      await until(() => hostCallsOf(callId).length > 0, 20_000, "the host_call line");
      expect(hostCallsOf(callId)[0]).toMatchObject({
        phase: "event",
        decision: "allow",
        upstream: "slow",
        host: { interface: "wasi:cli/environment", function: "get-environment" },
      });
      expect(
        read()
          .filter((l) => l.method === "tasks/cancel")
          .map((l) => l.phase),
      ).toEqual(["decision", "outcome"]);
      // The client was told each task's end, without the host calls.
      await until(
        () =>
          log.notifications.filter((n) => n.method === "notifications/tasks/status").length >= 2,
        10_000,
        "the status notifications",
      );
      const told = log.notifications.filter((n) => n.method === "notifications/tasks/status");
      expect(told.map((n) => (n.params as { taskId: string }).taskId)).toEqual(
        expect.arrayContaining([done, taskId]),
      );
      expect(JSON.stringify(told)).not.toContain("warden/host_calls");
      expect(JSON.stringify(result)).not.toContain("warden/host_calls");
    } finally {
      await c.close();
    }
  });

  it("hostile: another session cannot reach the task; max_tasks bounds a session's running tasks", {
    timeout: 60_000,
  }, async () => {
    const alice = await httpClient(url);
    const mallory = await httpClient(url);
    try {
      const { tools } = await alice.listTools();
      const sleep = tools.find((t) => t.name.endsWith("peek-then-sleep"))!.name;
      const taskId = await createTask(alice, sleep);
      for (const method of ["tasks/get", "tasks/result", "tasks/cancel"])
        await expect(
          mallory.request({ method, params: { taskId } } as never, GetTaskResultSchema),
        ).rejects.toThrow(/Unknown task/);
      const second = await createTask(alice, sleep);
      await expect(createTask(alice, sleep)).rejects.toThrow(
        /hosted_task_limit: .*already has 2 task\(s\) running.*max_tasks of upstream "slow": 2/,
      );
      // Mallory's own session has its own bound.
      const hers = await createTask(mallory, sleep);
      for (const [c, id] of [
        [alice, taskId],
        [alice, second],
        [mallory, hers],
      ] as const)
        await c.request({ method: "tasks/cancel", params: { taskId: id } }, CancelTaskResultSchema);
    } finally {
      await alice.close();
      await mallory.close();
    }
  });

  it("a session closed with a task running: the task is cancelled, its host calls audited", {
    timeout: 60_000,
  }, async () => {
    const c = await httpClient(url);
    const { tools } = await c.listTools();
    const ok = tools.find((t) => t.name.endsWith("tools.ok"))!.name;
    const sleep = tools.find((t) => t.name.endsWith("peek-then-sleep"))!.name;
    await c.callTool({ name: ok, arguments: {} });
    const sleeping = slowSleeping();
    await createTask(c, sleep);
    const callId = lastCall(sleep);
    await sleeping;
    await (c.transport as StreamableHTTPClientTransport).terminateSession();
    await c.close();
    await until(() => hostCallsOf(callId).length > 0, 20_000, "the host_call line");
    expect(hostCallsOf(callId)[0]).toMatchObject({
      host: { interface: "wasi:cli/environment", function: "get-environment" },
    });
  });
});

describe("the task results a session holds, through the gateway (max_session_task_result_bytes)", () => {
  it("hostile: a result past the upstream's bound is not kept: the task fails with hosted_task_results_full naming the key; audited as the tools/call's error outcome", {
    timeout: 120_000,
  }, async () => {
    const held = await sleeperGateway({
      policy: 'environment:\n  allow: ["*"]\n',
      upstream: "    max_session_task_result_bytes: 1\n",
    });
    const c = await httpClient(held.url);
    try {
      const { tools } = await c.listTools();
      const ok = tools.find((t) => t.name.endsWith("tools.ok"))!.name;
      const taskId = await createTask(c, ok);
      const result = await taskResult(c, taskId);
      expect(result.isError).toBe(true);
      expect(code(result)).toBe("hosted_task_results_full");
      expect(result.content[0]!.text).toMatch(
        /the most it may is 1 \(max_session_task_result_bytes of upstream "slow"\); it was not kept/,
      );
      expect(
        (await c.request({ method: "tasks/get", params: { taskId } }, GetTaskResultSchema)).status,
      ).toBe("failed");
      // the plain call is answered in full
      expect(
        ((await c.callTool({ name: ok, arguments: {} })) as unknown as Answer).structuredContent,
      ).toEqual({ result: 7 });
      await until(
        () =>
          auditOf(held.dir).some(
            (l) => l.method === "tasks/result" && l.phase === "outcome" && l.outcome === "error",
          ),
        10_000,
        "the tasks/result outcome line",
      );
    } finally {
      await c.close();
      await held.gw.stop();
    }
  });
});
