// Fuzz (issue 18): random and mutated JSON-RPC thrown at both sides of the gateway at once, for
// a fixed budget each: a raw stdio client with a hostile stdio upstream, and raw POSTs at the
// HTTP front with a hostile Streamable HTTP upstream (hostile-server.mjs with HOSTILE_FUZZ_SEED,
// --http). WARDEN_FUZZ_MS (default 3000 ms each in CI; raise it for longer runs on demand) and
// WARDEN_FUZZ_SEED to repeat a run. The gateway must never exit, must still answer a plain call
// afterwards, and the upstream must never receive a tools/call the policy denies (it allows
// only `echo`; the policy itself judges what the upstream received).
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterEach, describe, expect, it } from "vitest";
import { loadPolicyFileSync } from "../../src/policy/io.js";
import { generator, rng } from "./fixtures/fuzz-gen.mjs";
import { CLI, tempDir, until, writeGatewayFiles } from "./helpers.js";
import { HOSTILE, hostileUpstream, RawGateway } from "./raw-gateway.js";

const BUDGET_MS = Number(process.env.WARDEN_FUZZ_MS ?? 3000);
const SEED = Number(process.env.WARDEN_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const POLICY = `version: "1.0"\nmcp:\n  transport: { stdio: true, http: true }\n  tools: { allow: ["echo"] }\n`;

type Call = { params?: { name?: unknown; arguments?: Record<string, unknown> } };

/** The tools/call the upstream logged, and those of them the policy (the oracle) denies. */
function forwardedDenied(dir: string, log: string, caller: string) {
  let calls: Call[] = [];
  try {
    calls = readFileSync(log, "utf8")
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => JSON.parse(l) as Call);
  } catch {}
  const p = loadPolicyFileSync(join(dir, "policy.yaml"));
  if (!p.ok) throw new Error("policy");
  const denied = calls.filter(
    (c) =>
      typeof c.params?.name !== "string" ||
      !p.policy.check({
        kind: "tool.call",
        name: c.params.name,
        arguments: c.params.arguments ?? {},
        caller,
      }).allowed,
  );
  return { calls, denied };
}

describe(`fuzz both sides of the gateway (seed ${SEED}, ${BUDGET_MS} ms)`, () => {
  it("never exits and never forwards a denied call", async () => {
    const dir = tempDir();
    const log = join(dir, "upstream-calls.jsonl");
    const cfg = writeGatewayFiles(
      dir,
      `listen: stdio\npolicy: ./policy.yaml\nupstreams:\n${hostileUpstream("h", `    request_timeout_ms: 3000\n    env: { HOSTILE_LOG: ${JSON.stringify(log)}, HOSTILE_FUZZ_SEED: "${SEED + 1}" }\n`)}`,
      POLICY,
    );
    const gw = new RawGateway(cfg);
    try {
      const init = await gw.initialize({ roots: {} });
      expect(init.result, `${JSON.stringify(init)}\n${gw.stderr}`).toBeDefined();
      const g = generator(rng(SEED));
      const end = Date.now() + BUDGET_MS;
      let sent = 0;
      // the time budget, and at least the messages asserted below however slow the machine
      while (Date.now() < end || sent <= 100) {
        // answer what the gateway asked (roots/list, sampling, ...) wrongly, sometimes
        const asked = gw.messages.filter((m) => typeof m.method === "string" && m.id !== undefined);
        for (let i = 0; i < 20; i++) {
          const q = asked.length > 0 && g.int(2) === 0 ? g.pick(asked) : undefined;
          gw.write(`${g.line(q?.id, q?.method)}\n`);
          sent++;
        }
        // and plain calls, allowed and denied, with and without an id
        const name = g.pick(["echo", "secret", "echo", "shell"]);
        const call: Record<string, unknown> = {
          jsonrpc: "2.0",
          method: "tools/call",
          params: { name, arguments: { text: "t" } },
        };
        if (g.int(3) > 0) call.id = `c${sent}`;
        gw.send(call);
        await new Promise((r) => setTimeout(r, 10));
        expect(gw.exit, `the gateway exited; seed ${SEED}; stderr:\n${gw.stderr}`).toBeUndefined();
      }
      const last = await gw.call("after-fuzz", "echo", { text: "still here" });
      expect(last.result ?? last.error, `seed ${SEED}`).toBeDefined();
      expect(gw.exit, `seed ${SEED}`).toBeUndefined();
      const { calls, denied } = forwardedDenied(dir, log, "stdio");
      expect(denied, `seed ${SEED}: the upstream received calls the policy denies`).toEqual([]);
      expect(sent).toBeGreaterThan(100);
      if (process.env.FUZZ_DEBUG)
        console.log(
          JSON.stringify(
            {
              sent,
              calls: calls.length,
              got: gw.messages.length,
              methods: [...new Set(gw.messages.map((m) => m.method))],
              errs: gw.stderr.split("\n").slice(0, 30),
            },
            null,
            1,
          ),
        );
    } finally {
      await gw.close();
    }
  });
});

describe(`fuzz the HTTP front and a hostile HTTP upstream (seed ${SEED}, ${BUDGET_MS} ms)`, () => {
  const procs: ChildProcess[] = [];
  afterEach(() => {
    for (const p of procs.splice(0)) if (p.exitCode === null) p.kill("SIGKILL");
  });

  it("never exits and never forwards a denied call", async () => {
    const dir = tempDir();
    const log = join(dir, "upstream-calls.jsonl");
    const up = spawn(process.execPath, [HOSTILE, "--http"], {
      stdio: ["ignore", "pipe", "ignore"],
      env: { ...process.env, HOSTILE_LOG: log, HOSTILE_FUZZ_SEED: String(SEED + 2) },
    });
    procs.push(up);
    const upUrl = await new Promise<string>((resolve) =>
      createInterface({ input: up.stdout! }).once("line", (l) => resolve(JSON.parse(l).listening)),
    );
    const cfg = writeGatewayFiles(
      dir,
      `listen: { http: { port: 0, json_response: true } }\npolicy: ./policy.yaml\nupstreams:\n  - name: h\n    url: ${upUrl}\n    request_timeout_ms: 1000\n`,
      POLICY,
    );
    const gw = spawn(process.execPath, [CLI, "gateway", "--config", cfg, "--no-watch"], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    procs.push(gw);
    let exit: number | null | undefined;
    gw.on("exit", (code) => {
      exit = code;
    });
    let stderr = "";
    gw.stderr!.on("data", (d) => {
      stderr += String(d);
    });
    await until(() => /listening on (\S+)/.test(stderr), 15_000, "the gateway to listen");
    const url = /listening on (\S+)/.exec(stderr)![1]!;
    const post = (body: string, session?: string) =>
      fetch(url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
          ...(session === undefined ? {} : { "mcp-session-id": session }),
        },
        body,
        signal: AbortSignal.timeout(10_000),
      }).then(
        async (r) => ({
          status: r.status,
          session: r.headers.get("mcp-session-id"),
          // a body cut by the 10 s timeout (a loaded machine, 200 requests open) is as a
          // failed fetch: what the test asserts is that the gateway lives on and still serves
          text: await r.text().catch(() => ""),
        }),
        () => ({ status: 0, session: null, text: "" }),
      );
    const init = JSON.stringify({
      jsonrpc: "2.0",
      id: "init",
      method: "initialize",
      params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "fuzz" } },
    });
    const first = await post(init);
    expect(first.status, `${first.text}\n${stderr}`).toBe(200);
    const session = first.session!;
    await post(JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }), session);
    const g = generator(rng(SEED));
    const end = Date.now() + BUDGET_MS;
    const inflight: Promise<unknown>[] = [];
    let sent = 0;
    // the time budget, and at least the messages asserted below however slow the machine
    // (a loaded one sent 50 in 3 s)
    while (Date.now() < end || sent <= 50) {
      for (let i = 0; i < 10; i++) {
        // random and mutated messages, a batch now and then, with and without the session
        let body = g.line();
        if (g.int(8) === 0) body = `[${body},${g.line()}]`;
        inflight.push(post(body, g.int(4) === 0 ? undefined : session));
        sent++;
      }
      const name = g.pick(["echo", "secret", "echo", "shell", "h__echo"]);
      const call: Record<string, unknown> = {
        jsonrpc: "2.0",
        method: "tools/call",
        params: { name, arguments: { text: "t" } },
      };
      if (g.int(3) > 0) call.id = `c${sent}`;
      inflight.push(post(JSON.stringify(call), session));
      // keep at most a few hundred requests open
      if (inflight.length > 200) await Promise.all(inflight.splice(0, 100));
      else await new Promise((r) => setTimeout(r, 10));
      expect(exit, `the gateway exited; seed ${SEED}; stderr:\n${stderr}`).toBeUndefined();
    }
    await Promise.all(inflight);
    expect(exit, `seed ${SEED}; stderr:\n${stderr}`).toBeUndefined();
    // still serving: a new session and a plain call get answers
    const again = await post(init);
    expect(again.status, `seed ${SEED}: ${again.text}\n${stderr}`).toBe(200);
    const last = await post(
      JSON.stringify({
        jsonrpc: "2.0",
        id: "after",
        method: "tools/call",
        params: { name: "echo", arguments: { text: "still here" } },
      }),
      again.session!,
    );
    expect(last.status, `seed ${SEED}`).toBe(200);
    expect(exit, `seed ${SEED}`).toBeUndefined();
    const { calls, denied } = forwardedDenied(dir, log, "anonymous");
    expect(denied, `seed ${SEED}: the upstream received calls the policy denies`).toEqual([]);
    expect(sent).toBeGreaterThan(50);
    if (process.env.FUZZ_DEBUG)
      console.log(
        JSON.stringify(
          { sent, calls: calls.length, errs: stderr.split("\n").slice(0, 30) },
          null,
          1,
        ),
      );
  });
});
