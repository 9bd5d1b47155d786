// Tasks (MCP 2025-11-25) through the gateway, with a real SDK server that supports them and a
// real SDK client: the result of a task passes the response judges exactly as a plain tools/call
// answer does (a redacting PII guard redacts both the same way), with audit lines; tasks/*
// reach only the tasks this session created, at the upstream that created them.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import {
  CallToolResultSchema,
  CancelTaskResultSchema,
  CreateTaskResultSchema,
  GetTaskResultSchema,
  ListTasksResultSchema,
} from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gatewayWith, type Running, textOf } from "../guards/gateway-helpers.js";

const TASKS = join(import.meta.dirname, "fixtures/task-server.mjs");
const upstream = (name: string) =>
  `  - name: ${name}\n    command: ${JSON.stringify(process.execPath)}\n    args: [${JSON.stringify(TASKS)}]\n`;
const PII_OUT =
  "  - id: pii-out\n    type: pii\n    runs_on: [response]\n    config: { mode: redact }\n";

async function createTask(c: Client, name: string, id: string): Promise<string> {
  const created = await c.request(
    { method: "tools/call", params: { name, arguments: { id }, task: { ttl: 60_000 } } },
    CreateTaskResultSchema,
  );
  return created.task.taskId;
}

describe("tasks through the gateway (one upstream, PII guard in redact mode)", () => {
  let g: Running;
  let c: Client;
  beforeAll(async () => {
    g = await gatewayWith(upstream("crm"), PII_OUT);
    c = await g.client();
  }, 60_000);
  afterAll(() => g?.stop());

  it("redacts the result of a task exactly as the answer of a plain tools/call, and audits it", async () => {
    const plain = textOf(await c.callTool({ name: "customer", arguments: { id: "42" } }));
    expect(plain).toBe(
      "Customer 42: Jane Doe, [REDACTED:email], card [REDACTED:card], phone [REDACTED:phone].",
    );
    const taskId = await createTask(c, "customer_task", "42");
    const status = await c.request(
      { method: "tasks/get", params: { taskId } },
      GetTaskResultSchema,
    );
    expect(status).toMatchObject({ taskId, status: "completed" });
    const result = await c.request(
      { method: "tasks/result", params: { taskId } },
      CallToolResultSchema,
    );
    expect(textOf(result)).toBe(plain);
    expect(JSON.stringify(result)).not.toMatch(/jane\.doe|4111|555 0134/);
    const lines = g.audit().filter((l) => l.method === "tasks/result");
    expect(lines.map((l) => [l.phase, l.name, l.upstream, l.decision])).toEqual([
      ["decision", "customer_task", "crm", "allow"],
      ["outcome", "customer_task", "crm", "allow"],
    ]);
    // The guard judged it as the answer to the task's tools/call, and said so.
    const note = g.audit().find((l) => l.kind === "guard" && l.name === "customer_task");
    expect(note).toMatchObject({ upstream: "crm", method: "tools/call" });
  });

  it("lists only this session's tasks, and refuses task ids it did not create", async () => {
    const mine = await createTask(c, "customer_task", "7");
    const other = await g.client();
    const theirs = await createTask(other, "customer_task", "8");
    const listed = await c.request({ method: "tasks/list", params: {} }, ListTasksResultSchema);
    const ids = listed.tasks.map((t) => t.taskId);
    expect(ids).toContain(mine);
    expect(ids).not.toContain(theirs);
    await expect(
      c.request({ method: "tasks/result", params: { taskId: theirs } }, CallToolResultSchema),
    ).rejects.toThrow(/Unknown task .*reaches only tasks created by a tools\/call of this session/);
    await expect(
      c.request({ method: "tasks/get", params: { taskId: "nope" } }, GetTaskResultSchema),
    ).rejects.toThrow(/Unknown task "nope"/);
  });
});

describe("tasks under the policy", () => {
  let g: Running;
  beforeAll(async () => {
    g = await gatewayWith(upstream("crm"), PII_OUT);
  }, 60_000);
  afterAll(() => g?.stop());

  it("cancels a task at its upstream, and refuses tasks/* once the policy no longer allows the task's tool", async () => {
    const c = await g.client();
    const pending = await createTask(c, "pending_task", "x");
    expect(
      await c.request({ method: "tasks/get", params: { taskId: pending } }, GetTaskResultSchema),
    ).toMatchObject({ status: "working" });
    const cancelled = await c.request(
      { method: "tasks/cancel", params: { taskId: pending } },
      CancelTaskResultSchema,
    );
    expect(cancelled).toMatchObject({ taskId: pending, status: "cancelled" });
    const done = await createTask(c, "customer_task", "9");
    writeFileSync(
      join(g.dir, "policy.yaml"),
      `version: "1.0"\nmcp:\n  transport: { stdio: true, http: true }\n  tools:\n    allow: ["*"]\n    deny: ["customer_task"]\n`,
    );
    expect(g.gw.reload().ok).toBe(true);
    await expect(
      c.request({ method: "tasks/result", params: { taskId: done } }, CallToolResultSchema),
    ).rejects.toThrow(/Warden denied tasks\/result for task .* of tools\/call "customer_task"/);
  });
});

describe("tasks across two prefixed upstreams", () => {
  let g: Running;
  beforeAll(async () => {
    g = await gatewayWith(upstream("a") + upstream("b"), PII_OUT);
  }, 60_000);
  afterAll(() => g?.stop());

  it("routes tasks/* to the upstream that created the task, and redacts its result", async () => {
    const c = await g.client();
    const ta = await createTask(c, "a__customer_task", "1");
    const tb = await createTask(c, "b__customer_task", "2");
    const ra = await c.request(
      { method: "tasks/result", params: { taskId: ta } },
      CallToolResultSchema,
    );
    const rb = await c.request(
      { method: "tasks/result", params: { taskId: tb } },
      CallToolResultSchema,
    );
    expect(textOf(ra)).toMatch(/^Customer 1: Jane Doe, \[REDACTED:email\]/);
    expect(textOf(rb)).toMatch(/^Customer 2: Jane Doe, \[REDACTED:email\]/);
    const listed = await c.request({ method: "tasks/list", params: {} }, ListTasksResultSchema);
    expect(listed.tasks.map((t) => t.taskId).sort()).toEqual([ta, tb].sort());
    const lines = g.audit().filter((l) => l.method === "tasks/result" && l.phase === "outcome");
    expect(lines.map((l) => [l.name, l.upstream])).toEqual([
      ["a__customer_task", "a"],
      ["b__customer_task", "b"],
    ]);
  });
});

describe("tasks/list across two upstreams, more than a page", () => {
  let g: Running;
  beforeAll(async () => {
    g = await gatewayWith(upstream("a") + upstream("b"), PII_OUT);
  }, 60_000);
  afterAll(() => g?.stop());

  it("pages with a merged cursor (each upstream's next page), as the merged lists do", async () => {
    const c = await g.client();
    const made = new Set<string>();
    for (let i = 0; i < 12; i++) made.add(await createTask(c, "a__customer_task", `a${i}`));
    for (let i = 0; i < 3; i++) made.add(await createTask(c, "b__customer_task", `b${i}`));
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await c.request(
        { method: "tasks/list", params: cursor === undefined ? {} : { cursor } },
        ListTasksResultSchema,
      );
      seen.push(...page.tasks.map((t) => t.taskId));
      cursor = page.nextCursor;
      pages++;
    } while (cursor !== undefined && pages < 10);
    // the upstream's store pages by 10: a's 10 and b's 3, then a's last 2
    expect(pages).toBe(2);
    expect(seen.length).toBe(15);
    expect(new Set(seen)).toEqual(made);
    await expect(
      c.request({ method: "tasks/list", params: { cursor: "not-ours" } }, ListTasksResultSchema),
    ).rejects.toThrow(/Invalid cursor for tasks\/list/);
    const refused = g.audit().find((l) => l.method === "tasks/list" && l.code !== undefined);
    expect(refused).toMatchObject({ decision: "deny", code: "message_invalid" });
  });
});

describe("tasks under a request-phase guard", () => {
  let g: Running;
  beforeAll(async () => {
    g = await gatewayWith(
      upstream("a") + upstream("b"),
      "  - id: pii-in\n    type: pii\n    runs_on: [request]\n    config: { mode: block }\n",
    );
  }, 60_000);
  afterAll(() => g?.stop());

  it("gives the guard the task's tool name (the upstream's own), and names it in the denial and the audit", async () => {
    const c = await g.client();
    const t = await createTask(c, "b__customer_task", "3");
    const err = await c
      .request(
        { method: "tasks/get", params: { taskId: t, note: "mail jane.doe@example.com" } },
        GetTaskResultSchema,
      )
      .then(
        () => undefined,
        (e: Error) => e.message,
      );
    expect(err).toMatch(/the arguments of tasks\/get "customer_task" \(server "b"\)/);
    const note = g.audit().find((l) => l.kind === "guard" && l.method === "tasks/get");
    expect(note).toMatchObject({ name: "b__customer_task", upstream: "b", decision: "deny" });
    // Without personal data the same request passes.
    expect(
      await c.request({ method: "tasks/get", params: { taskId: t } }, GetTaskResultSchema),
    ).toMatchObject({ taskId: t });
  });
});
