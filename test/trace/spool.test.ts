// The spool (src/trace/spool.ts): a short traced process reports through warden run's spool
// without starting its flusher thread, and every event it made arrives; a process past the
// spool's bound switches to its flusher mid-way and loses none; what a program writes into the
// spool itself (a partial line, garbage, a record of the wrong shape) spoils no other record.
// Real Node processes with the real agent, a real server and session, as `warden run` wires them.
import { spawn } from "node:child_process";
import { closeSync, constants, openSync, writeSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { tracedEnv } from "../../src/trace/env.js";
import { type Handoff, writeHandoff } from "../../src/trace/handoff.js";
import type { TraceEvent } from "../../src/trace/protocol.js";
import { startTraceServer, type TraceHandlers, type TraceServer } from "../../src/trace/server.js";
import { TraceSession } from "../../src/trace/session.js";
import { openSpool, type Spool } from "../../src/trace/spool.js";
import { denyPolicy, files, tempDir } from "./helpers.js";

/** The built agent (npm run build), as `warden run` preloads it. */
const AGENT_PRELOAD = resolve("dist/trace/agent/preload.cjs");

interface Run {
  session: TraceSession;
  spool: Spool;
  env: NodeJS.ProcessEnv;
  /** Requests that came over HTTP (a flusher thread posted them). */
  http: string[];
  events: TraceEvent[];
}

let open: { server: TraceServer; spool: Spool; handoff: Handoff | undefined }[] = [];
afterEach(async () => {
  for (const o of open) {
    o.spool.close();
    o.handoff?.remove();
    await o.server.close();
  }
  open = [];
});

async function start(policy: string, agentMax?: number): Promise<Run> {
  const events: TraceEvent[] = [];
  const session = new TraceSession({
    policy: { text: policy, file: "policy.yaml" },
    sections: ["storage"],
    reviewTimeoutMs: 1000,
    onEvent: (e) => {
      events.push(e);
      return undefined;
    },
    review: async () => ({ decision: "deny", why: "no_tty" }),
  });
  const http: string[] = [];
  // The server's view: every request the agents post goes to the session (and is counted).
  const seen = <A extends unknown[], R>(name: string, f: (...a: A) => R) => {
    return (...a: A): R => {
      http.push(name);
      return f(...a);
    };
  };
  const counted: TraceHandlers = {
    configure: seen("configure", (r) => session.configure(r)),
    ready: seen("ready", (r) => session.ready(r)),
    events: seen("events", (b) => session.events(b)),
    child: seen("child", (r) => session.child(r)),
    review: seen("review", (r) => session.review(r)),
    shutdown: seen("shutdown", (r) => session.shutdown(r)),
    command: () => session.command(),
  };
  const server = await startTraceServer(counted);
  const spool = openSpool(session, { agentMax });
  if (spool === undefined) throw new Error("no spool on this platform");
  session.pullSpool = spool.pull;
  const handoff = writeHandoff({ ...session.answer(), spool: spool.value });
  session.handoff = handoff?.env;
  open.push({ server, spool, handoff });
  const env = tracedEnv(process.env, {
    url: server.url,
    token: server.token,
    agent: AGENT_PRELOAD,
    config: handoff?.env,
  }).env;
  return { session, spool, env, http, events };
}

function node(args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, args, { env, cwd, stdio: ["ignore", "ignore", "inherit"] });
    c.on("error", reject);
    c.on("close", (code) => resolve(code));
  });
}

const stats = (r: Run) => r.events.filter((e) => e.function === "js:fs.statSync").length;

describe.skipIf(process.platform !== "linux")("warden run: the spool", () => {
  it("takes every event of short processes without a flusher thread", async () => {
    const dir = tempDir();
    files(dir, {
      "short.js": `const fs = require("fs"); for (let i = 0; i < 10; i++) fs.statSync(__dirname);
try { fs.readFileSync(${JSON.stringify(join(dir, "never"))}); } catch {}`,
    });
    const r = await start(denyPolicy([join(dir, "never")]));
    // Five at once (their records interleave in the file) and two one after the other.
    const codes = await Promise.all(
      Array.from({ length: 5 }, () => node(["short.js"], r.env, dir)),
    );
    codes.push(await node(["short.js"], r.env, dir), await node(["short.js"], r.env, dir));
    expect(codes).toEqual(Array(7).fill(0));
    await r.session.drain(5000);
    expect(r.http).toEqual([]);
    expect(stats(r)).toBe(70);
    expect(r.events.filter((e) => e.verdict === "block")).toHaveLength(7);
    expect(r.session.agents).toHaveLength(7);
    expect(r.session.agents.every((a) => a.out && a.ready)).toBe(true);
    expect(r.session.lost).toBe(0);
    expect(r.spool.stats.skipped).toBe(0);
  }, 60_000);

  it("takes every event of a large process through the spool, without a flusher thread", async () => {
    const dir = tempDir();
    const n = 20_000;
    files(dir, {
      "long.js": `const fs = require("fs"); for (let i = 0; i < ${n}; i++) fs.statSync(__dirname);`,
    });
    const r = await start(denyPolicy([join(dir, "never")]));
    expect(await node(["long.js"], r.env, dir)).toBe(0);
    await r.session.drain(5000);
    expect(stats(r)).toBe(n);
    expect(r.session.lost).toBe(0);
    expect(r.http).toEqual([]);
    expect(r.session.agents).toHaveLength(1);
    expect(r.session.agents.every((a) => a.out && a.ready)).toBe(true);
    expect(r.spool.stats.skipped).toBe(0);
  }, 120_000);

  it("switches a process past the spool's bound to its flusher, and loses none", async () => {
    const dir = tempDir();
    const n = 20_000;
    files(dir, {
      "long.js": `const fs = require("fs"); for (let i = 0; i < ${n}; i++) fs.statSync(__dirname);`,
    });
    // The bound handed over (1 MiB; SPOOL_AGENT_MAX is 64 MiB, a whole npm install).
    const r = await start(denyPolicy([join(dir, "never")]), 1024 * 1024);
    expect(await node(["long.js"], r.env, dir)).toBe(0);
    await r.session.drain(5000);
    expect(stats(r)).toBe(n);
    expect(r.session.lost).toBe(0);
    expect(r.session.agents).toHaveLength(1);
    expect(r.spool.stats.records).toBeGreaterThan(0);
    // It registered over HTTP once its flusher started, and said goodbye there.
    expect(r.http[0]).toBe("configure");
    expect(r.http.at(-1)).toBe("shutdown");
  }, 120_000);

  it("keeps every record when a program writes garbage into the spool", async () => {
    const dir = tempDir();
    files(dir, {
      "short.js": `const fs = require("fs"); for (let i = 0; i < 10; i++) fs.statSync(__dirname);`,
    });
    const r = await start(denyPolicy([join(dir, "never")]));
    const [pid, fd] = r.spool.value.split(":");
    const w = openSync(`/proc/${pid}/fd/${fd}`, constants.O_WRONLY | constants.O_APPEND);
    try {
      // A partial line (no newline), then processes, then lines that are not records.
      writeSync(w, '{"m":[["/events",[{"pid":1');
      await node(["short.js"], r.env, dir);
      writeSync(w, "not json\n");
      writeSync(w, `${JSON.stringify({ m: [["/events", [{ pid: "x" }]]] })}\n`);
      writeSync(w, `${JSON.stringify({ m: [["/review", {}]] })}\n`);
      await node(["short.js"], r.env, dir);
    } finally {
      closeSync(w);
    }
    await r.session.drain(5000);
    expect(stats(r)).toBe(20);
    expect(r.session.agents).toHaveLength(2);
    expect(r.session.lost).toBe(0);
    expect(r.spool.stats.skipped).toBe(4);
    expect(r.http).toEqual([]);
  }, 60_000);
});
