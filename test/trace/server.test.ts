// The trace server answers only requests that carry the run's token (a real HTTP client on
// loopback), and refuses bodies that are not the protocol's shape.
import { afterEach, describe, expect, it } from "vitest";
import type { TraceEvent } from "../../src/trace/protocol.js";
import { startTraceServer, type TraceServer } from "../../src/trace/server.js";
import { TraceSession } from "../../src/trace/session.js";

let server: TraceServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

function session(seen: TraceEvent[]): TraceSession {
  return new TraceSession({
    policy: { text: 'version: "1.0"\n', file: "p.yaml" },
    sections: [],
    reviewTimeoutMs: 1000,
    onEvent: (e) => {
      seen.push(e);
      return undefined;
    },
    review: async () => ({ decision: "deny", why: "no_tty" }),
  });
}

const event = (pid: number): TraceEvent => ({
  hook_type: "nodejs",
  event_type: "enter",
  function: "js:fs.readFileSync",
  module: "fs",
  arguments: [{ index: 0, display: "/etc/hosts" }],
  timestamp_ns: 1,
  thread_id: 0,
  pid,
  target: "/etc/hosts",
  verdict: "allow",
});

describe("trace server", () => {
  it("answers 401 to a request without the run's token, and takes events with it", async () => {
    const seen: TraceEvent[] = [];
    const s = session(seen);
    server = await startTraceServer(s);
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const body = JSON.stringify([event(1)]);
    const none = await fetch(`${server.url}/events`, { method: "POST", body });
    expect(none.status).toBe(401);
    const wrong = await fetch(`${server.url}/events`, {
      method: "POST",
      body,
      headers: { authorization: `Bearer ${"0".repeat(64)}` },
    });
    expect(wrong.status).toBe(401);
    const cmd = await fetch(`${server.url}/command`);
    expect(cmd.status).toBe(401);
    expect(seen).toHaveLength(0);
    const auth = { authorization: `Bearer ${server.token}` };
    const ok = await fetch(`${server.url}/events`, { method: "POST", body, headers: auth });
    expect(ok.status).toBe(200);
    expect(seen).toHaveLength(1);
    expect(await (await fetch(`${server.url}/command`, { headers: auth })).json()).toEqual({
      command: null,
    });
  });

  it("refuses bodies that are not the protocol's, and counts an agent out only at /shutdown", async () => {
    const seen: TraceEvent[] = [];
    const s = session(seen);
    server = await startTraceServer(s);
    const post = (path: string, body: string) =>
      fetch(`${server!.url}${path}`, {
        method: "POST",
        body,
        headers: { authorization: `Bearer ${server!.token}` },
      });
    expect((await post("/events", "{not json")).status).toBe(400);
    expect(
      (await post("/events", JSON.stringify([{ ...event(1), verdict: "maybe" }]))).status,
    ).toBe(400);
    expect((await post("/nope", "{}")).status).toBe(404);
    const cfg = await post(
      "/configure",
      JSON.stringify({ pid: 42, ppid: 1, thread_id: 0, argv: ["node"] }),
    );
    expect(cfg.status).toBe(200);
    expect(await cfg.json()).toMatchObject({
      policy: { file: "p.yaml" },
      batch_ms: 50,
      batch_events: 64,
    });
    expect(s.active).toBe(1);
    await post("/events", JSON.stringify([event(42), event(42)]));
    expect(
      (await post("/shutdown", JSON.stringify({ pid: 42, thread_id: 0, events_sent: 3 }))).status,
    ).toBe(200);
    expect(s.active).toBe(0);
    // It said it sent 3; 2 arrived: the summary reports the one lost.
    expect(s.lost).toBe(1);
    const review = await post(
      "/review",
      JSON.stringify({ event: { ...event(42), verdict: "review" } }),
    );
    expect(await review.json()).toEqual({ decision: "deny", why: "no_tty" });
  });
});
