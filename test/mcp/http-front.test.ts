// The HTTP front on the wire, with a scripted session behind it (no upstream): one-write
// answers with Content-Length, and resumption of POST and GET streams with Last-Event-ID.
import { request } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_EVENTS } from "../../src/mcp/event-store.js";
import { type FrontSession, HttpFront } from "../../src/mcp/http-front.js";
import type { Id, Message } from "../../src/mcp/jsonrpc.js";
import type { Downstream } from "../../src/mcp/session-core.js";
import { until } from "./helpers.js";
import { LOOPBACK_LISTEN, postRaw } from "./http-raw.js";

/** Answers initialize and echo at once; holds "hold" requests until the test answers them. */
class Scripted implements FrontSession {
  held: Id[] = [];
  constructor(readonly down: Downstream) {}
  receive(m: Message): void {
    if (!("method" in m) || !("id" in m)) return;
    if (m.method === "initialize")
      this.down.send({ jsonrpc: "2.0", id: m.id, result: { protocolVersion: "2025-06-18" } }, m.id);
    else if (m.method === "echo")
      this.down.send({ jsonrpc: "2.0", id: m.id, result: { ...m.params } }, m.id);
    else this.held.push(m.id);
  }
  progress(id: Id, n: number): void {
    this.down.send(
      {
        jsonrpc: "2.0",
        method: "notifications/progress",
        params: { progressToken: 1, progress: n },
      },
      id,
    );
  }
  notify(n: number): void {
    this.down.send({ jsonrpc: "2.0", method: "notifications/message", params: { n } });
  }
  answer(id: Id): void {
    this.down.send({ jsonrpc: "2.0", id, result: { done: true } }, id);
  }
  async close(): Promise<void> {}
}

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

interface Sse {
  status: number;
  events: { id?: string; data: unknown }[];
  ended: boolean;
  text: string;
  drop(): void;
}

describe("the HTTP front on the wire", () => {
  let front: HttpFront;
  let port: number;
  let last: Scripted;
  let session: string;

  const send = (
    method: string,
    headers: Record<string, string>,
    body?: string | string[],
  ): Promise<Reply> =>
    new Promise((resolve, reject) => {
      const req = request({ host: "127.0.0.1", port, path: "/mcp", method, headers }, (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => {
          text += c;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
      });
      req.on("error", reject);
      if (Array.isArray(body)) {
        // a body split across packets
        req.write(body[0]);
        setTimeout(() => req.end(body[1]), 30);
      } else req.end(body);
    });

  const json = { "content-type": "application/json" };
  const both = { ...json, accept: "application/json, text/event-stream" };
  const rpc = (id: number, method: string, params: object = {}) =>
    JSON.stringify({ jsonrpc: "2.0", id, method, params });

  /** Open an SSE response (a POST or a GET) and collect its events as they come. */
  const sse = (method: string, headers: Record<string, string>, body?: string): Sse => {
    const req = request({ host: "127.0.0.1", port, path: "/mcp", method, headers });
    const out: Sse = { status: 0, events: [], ended: false, text: "", drop: () => req.destroy() };
    req.on("response", (res) => {
      out.status = res.statusCode ?? 0;
      let buf = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => {
        out.text += c;
        buf += c;
        let end = buf.indexOf("\n\n");
        while (end >= 0) {
          const frame = buf.slice(0, end);
          buf = buf.slice(end + 2);
          const id = /^id: (.*)$/m.exec(frame)?.[1];
          const data = /^data: (.*)$/m.exec(frame)?.[1];
          if (data) out.events.push({ id, data: JSON.parse(data) });
          end = buf.indexOf("\n\n");
        }
      });
      res.on("end", () => {
        out.ended = true;
      });
      res.on("error", () => {});
    });
    req.on("error", () => {});
    req.end(body);
    return out;
  };

  const down = () => front.sessions.get(session)!.down;

  beforeAll(async () => {
    front = new HttpFront(
      LOOPBACK_LISTEN,
      (d) => {
        last = new Scripted(d);
        return last;
      },
      undefined,
    );
    port = ((await front.listen()) as AddressInfo).port;
    const init = await send("POST", both, rpc(1, "initialize"));
    session = init.headers["mcp-session-id"] as string;
    expect(session).toMatch(/^[0-9a-f-]{36}$/);
  });
  afterAll(async () => {
    await front?.close();
  });

  it("answers in one write with Content-Length: SSE when accepted, else JSON", async () => {
    const h = { ...both, "mcp-session-id": session };
    const a = await send("POST", h, rpc(2, "echo", { x: 1 }));
    expect(a.status).toBe(200);
    expect(a.headers["content-type"]).toBe("text/event-stream");
    expect(a.headers["transfer-encoding"]).toBeUndefined();
    expect(Number(a.headers["content-length"])).toBe(Buffer.byteLength(a.text));
    expect(a.text).toBe(
      `event: message\ndata: ${JSON.stringify({ jsonrpc: "2.0", id: 2, result: { x: 1 } })}\n\n`,
    );
    const j = await send("POST", { ...h, accept: "application/json" }, rpc(3, "echo", { y: "é" }));
    expect(j.headers["content-type"]).toBe("application/json");
    expect(j.headers["transfer-encoding"]).toBeUndefined();
    expect(Number(j.headers["content-length"])).toBe(Buffer.byteLength(j.text));
    expect(JSON.parse(j.text)).toEqual({ jsonrpc: "2.0", id: 3, result: { y: "é" } });
    const split = await send("POST", { ...h, accept: "application/json" }, [
      rpc(4, "echo", { z: 2 }).slice(0, 10),
      rpc(4, "echo", { z: 2 }).slice(10),
    ]);
    expect(JSON.parse(split.text)).toMatchObject({ id: 4, result: { z: 2 } });
    const any = await send("POST", { ...h, accept: "*/*" }, rpc(5, "echo"));
    expect(any.headers["content-type"]).toBe("application/json");
    const note = await send("POST", h, JSON.stringify({ jsonrpc: "2.0", method: "x/y" }));
    expect(note.status).toBe(202);
    expect(note.headers["content-length"]).toBe("0");
    expect(note.headers["mcp-session-id"]).toBe(session);
  });

  it("refuses a body over 4 MiB from its Content-Length, before reading it", async () => {
    const r = await new Promise<Reply>((resolve, reject) => {
      const req = request(
        {
          host: "127.0.0.1",
          port,
          path: "/mcp",
          method: "POST",
          headers: { ...both, "mcp-session-id": session, "content-length": 5 * 1024 * 1024 },
        },
        (res) => {
          let text = "";
          res.on("data", (c) => {
            text += c;
          });
          res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
        },
      );
      req.on("error", reject);
      req.write("{");
    });
    expect(r.status).toBe(413);
    expect(JSON.parse(r.text).error.message).toBe(
      "Payload too large: the body is over 4194304 bytes (listen.http.max_body_bytes).",
    );
  });

  it("answers in JSON with listen.http.json_response, SSE still for streams", async () => {
    const jf = new HttpFront(
      { ...front.cfg, port: 0, jsonResponse: true },
      (d) => new Scripted(d),
      undefined,
    );
    const jport = ((await jf.listen()) as AddressInfo).port;
    try {
      const post = (body: string, sid?: string) =>
        postRaw(`http://127.0.0.1:${jport}/mcp`, body, {
          ...both,
          ...(sid ? { "mcp-session-id": sid } : {}),
        });
      const init = await post(rpc(1, "initialize"));
      expect(init.headers.get("content-type")).toBe("application/json");
      expect(init.headers.get("content-length")).toBe(String((await init.text()).length));
      const sid = init.headers.get("mcp-session-id")!;
      const s = jf.sessions.get(sid)!.session as Scripted;
      const held = post(rpc(2, "hold"), sid);
      await until(() => s.held.includes(2), 5000, "the held request");
      s.progress(2, 1);
      s.answer(2);
      const r = await held;
      expect(r.headers.get("content-type")).toBe("text/event-stream");
      expect(await r.text()).toMatch(
        /^id: 1\.\d+\nevent: message\n.*"progress":1.*\n\nid: 1\.\d+\n.*"id":2/s,
      );
    } finally {
      await jf.close();
    }
  });

  it("primes a POST still waiting (2025-11-25 clients), so it resumes even before any event", async () => {
    const pf = new HttpFront({ ...front.cfg, port: 0 }, (d) => new Scripted(d), undefined);
    pf.primeAfterMs = 50;
    const pport = ((await pf.listen()) as AddressInfo).port;
    const at = (method: string, headers: Record<string, string>, body?: string) => {
      const saved = port;
      port = pport;
      try {
        return sse(method, headers, body);
      } finally {
        port = saved;
      }
    };
    try {
      const init = at("POST", both, rpc(1, "initialize"));
      await until(() => init.ended, 5000, "initialize");
      const sid = Object.keys(Object.fromEntries(pf.sessions))[0]!;
      const s = pf.sessions.get(sid)!.session as Scripted;
      const h = { ...both, "mcp-session-id": sid };
      const old = at("POST", { ...h, "mcp-protocol-version": "2025-06-18" }, rpc(2, "hold"));
      const cur = at("POST", { ...h, "mcp-protocol-version": "2025-11-25" }, rpc(3, "hold"));
      await until(() => cur.text.length > 0, 5000, "the priming event");
      expect(cur.status).toBe(200);
      expect(cur.text).toMatch(/^id: (\d+\.\d+)\nretry: 1000\ndata: \n\n$/);
      expect(old.status).toBe(0); // older clients: no priming, the answer comes in one write
      const primed = /^id: (\S+)/.exec(cur.text)![1]!;
      cur.drop();
      await until(() => !pf.sessions.get(sid)!.down.byRequest.get(3)?.attached, 5000, "the drop");
      s.answer(3);
      s.answer(2);
      await until(() => old.ended, 5000, "the older client's answer");
      expect(old.events).toEqual([{ data: { jsonrpc: "2.0", id: 2, result: { done: true } } }]);
      const r = at("GET", {
        accept: "text/event-stream",
        "mcp-session-id": sid,
        "last-event-id": primed,
      });
      await until(() => r.ended, 5000, "the resumed answer");
      expect(r.events.map((e) => e.data)).toEqual([
        { jsonrpc: "2.0", id: 3, result: { done: true } },
      ]);
    } finally {
      await pf.close();
    }
  });

  it("resumes a POST stream cut mid-call: what was missed, then the rest, then the end", async () => {
    const h = { ...both, "mcp-session-id": session };
    const s = sse("POST", h, rpc(10, "hold"));
    await until(() => last.held.includes(10), 5000, "the held request");
    last.progress(10, 1);
    await until(() => s.events.length === 1, 5000, "the first event");
    expect(s.status).toBe(200);
    const first = s.events[0]!.id!;
    expect(first).toMatch(/^\d+\.\d+$/);
    s.drop();
    await until(() => !down().byRequest.get(10)?.attached, 5000, "the server to see the drop");
    last.progress(10, 2);
    last.progress(10, 3);
    const r = sse("GET", {
      accept: "text/event-stream",
      "mcp-session-id": session,
      "last-event-id": first,
    });
    await until(() => r.events.length === 2, 5000, "the replay");
    expect(r.status).toBe(200);
    // a second connection for the same stream is refused while this one carries it
    const twice = await send("GET", {
      accept: "text/event-stream",
      "mcp-session-id": session,
      "last-event-id": first,
    });
    expect(twice.status).toBe(409);
    last.answer(10);
    await until(() => r.ended, 5000, "the stream to end after the answer");
    expect(r.events.map((e) => e.data)).toEqual([
      expect.objectContaining({ params: { progressToken: 1, progress: 2 } }),
      expect.objectContaining({ params: { progressToken: 1, progress: 3 } }),
      { jsonrpc: "2.0", id: 10, result: { done: true } },
    ]);
    // the finished stream can still be replayed from any id it kept
    const again = await send("GET", {
      accept: "text/event-stream",
      "mcp-session-id": session,
      "last-event-id": r.events[1]!.id!,
    });
    expect(again.status).toBe(200);
    expect(again.text).toContain('"id":10');
    expect(again.text).not.toContain('"progress":3');
  });

  it("resumes the GET stream from the last event seen", async () => {
    const get = { accept: "text/event-stream", "mcp-session-id": session };
    const g = sse("GET", get);
    last.notify(1);
    last.notify(2);
    await until(() => g.events.length === 2, 5000, "two events");
    const seen = g.events[0]!.id!;
    g.drop();
    await until(() => down().getStream === undefined, 5000, "the server to see the drop");
    last.notify(3);
    const r = sse("GET", { ...get, "last-event-id": seen });
    await until(() => r.events.length === 2, 5000, "the replay");
    last.notify(4);
    await until(() => r.events.length === 3, 5000, "a live event");
    expect(r.events.map((e) => (e.data as { params: { n: number } }).params.n)).toEqual([2, 3, 4]);
    expect((await send("GET", get)).status).toBe(409);
    r.drop();
    await until(() => down().getStream === undefined, 5000, "the server to see the drop");
  });

  it("refuses ids it did not make, does not know, or no longer keeps (400, saying why)", async () => {
    const get = { accept: "text/event-stream", "mcp-session-id": session };
    const bad = await send("GET", { ...get, "last-event-id": "abc" });
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.text).error.message).toMatch(
      /cannot resume from Last-Event-ID "abc": it is not an event id of this gateway/,
    );
    const unknown = await send("GET", { ...get, "last-event-id": "999.1" });
    expect(unknown.status).toBe(400);
    expect(unknown.text).toMatch(/unknown or expired/);
    const g = sse("GET", get);
    last.notify(0);
    await until(() => g.events.length === 1, 5000, "an event");
    const old = g.events[0]!.id!;
    g.drop();
    await until(() => down().getStream === undefined, 5000, "the server to see the drop");
    for (let i = 1; i <= MAX_EVENTS + 1; i++) last.notify(i);
    const gone = await send("GET", { ...get, "last-event-id": old });
    expect(gone.status).toBe(400);
    expect(gone.text).toMatch(/evicted \(a session keeps its last 1000 events/);
    expect(down().store.size).toBeLessThanOrEqual(MAX_EVENTS);
  });
});
