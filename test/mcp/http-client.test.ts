// The HTTP upstream client (undici) against a real node:http server that answers the ways a
// Streamable HTTP server may: JSON with content-length, chunked JSON, SSE split across writes
// (multi-byte characters cut in two), HTTP errors, a connection closed before an answer; and
// against hostile upstreams (raw sockets): a session id carrying a header line, answers and SSE
// events over the bound.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { type AddressInfo, createServer as createNetServer } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../src/mcp/config.js";
import { HttpClientTransport } from "../../src/mcp/http-client.js";

type Handler = (body: Record<string, unknown>, req: IncomingMessage, res: ServerResponse) => void;

let server: Server;
let url: URL;
let handler: Handler;
const seen: IncomingMessage[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let text = "";
    req.setEncoding("utf8");
    req.on("data", (c: string) => (text += c));
    req.on("end", () => {
      seen.push(req);
      handler((text === "" ? {} : JSON.parse(text)) as Record<string, unknown>, req, res);
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp?x=1`);
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

function client(headers: Record<string, string> = {}, maxAnswer?: number, at = url) {
  const t = new HttpClientTransport(at, headers, maxAnswer === undefined ? {} : { maxAnswer });
  const got: unknown[] = [];
  const errors: Error[] = [];
  t.onmessage = (m) => got.push(m);
  t.onerror = (e) => errors.push(e);
  const next = async (n: number) => {
    const end = Date.now() + 5000;
    while (got.length < n && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
    return got[n - 1];
  };
  return { t, got, errors, next };
}

const answer = (id: unknown, text: string) => ({ jsonrpc: "2.0", id, result: { text } });

describe("the HTTP upstream client", () => {
  it("sends headers, keeps the session id, reads a content-length JSON answer", async () => {
    handler = (b, _req, res) => {
      const body = JSON.stringify(answer(b.id, "é plain"));
      res.writeHead(200, {
        "content-type": "application/json",
        "content-length": Buffer.byteLength(body),
        "mcp-session-id": "s-1",
      });
      res.end(body);
    };
    const { t, next, errors } = client({ authorization: "Bearer tok", "x-team": "a" });
    await t.send({ jsonrpc: "2.0", id: 1, method: "initialize", params: {} });
    expect(await next(1)).toEqual(answer(1, "é plain"));
    t.setProtocolVersion("2025-06-18");
    await t.send({ jsonrpc: "2.0", id: 2, method: "tools/call", params: { text: "ü" } });
    expect(await next(2)).toEqual(answer(2, "é plain"));
    const req = seen.at(-1)!;
    expect(req.url).toBe("/mcp?x=1");
    expect(req.headers.authorization).toBe("Bearer tok");
    expect(req.headers["x-team"]).toBe("a");
    expect(req.headers["mcp-session-id"]).toBe("s-1");
    expect(req.headers["mcp-protocol-version"]).toBe("2025-06-18");
    expect(req.headers.accept).toBe("application/json, text/event-stream");
    expect(errors).toEqual([]);
    await t.close();
  });
  it("reads chunked JSON and an SSE stream split inside a multi-byte character", async () => {
    handler = (b, _req, res) => {
      if (b.method === "chunked") {
        res.writeHead(200, { "content-type": "application/json" });
        const body = JSON.stringify(answer(b.id, "chunked"));
        res.write(body.slice(0, 10));
        setTimeout(() => res.end(body.slice(10)), 5);
        return;
      }
      res.writeHead(200, { "content-type": "text/event-stream" });
      const progress = `data: ${JSON.stringify({ jsonrpc: "2.0", method: "notifications/progress", params: { progress: 1 } })}\n\n`;
      const last = Buffer.from(`id: 7\ndata: ${JSON.stringify(answer(b.id, "ßse"))}\n\n`);
      const cut = last.indexOf(Buffer.from("ß")) + 1;
      res.write(progress);
      res.write(last.subarray(0, cut));
      setTimeout(() => res.end(last.subarray(cut)), 5);
    };
    const { t, next, errors } = client();
    await t.send({ jsonrpc: "2.0", id: 1, method: "chunked" });
    expect(await next(1)).toEqual(answer(1, "chunked"));
    await t.send({ jsonrpc: "2.0", id: 2, method: "sse" });
    expect(await next(2)).toMatchObject({ method: "notifications/progress" });
    expect(await next(3)).toEqual(answer(2, "ßse"));
    // the socket is reusable after both framings
    await t.send({ jsonrpc: "2.0", id: 3, method: "chunked" });
    expect(await next(4)).toEqual(answer(3, "chunked"));
    expect(errors).toEqual([]);
    await t.close();
  });
  it("sends credentials given in the URL as Basic auth ", async () => {
    handler = (b, _req, res) => {
      const body = JSON.stringify(answer(b.id, "auth"));
      res.writeHead(200, { "content-type": "application/json", "content-length": body.length });
      res.end(body);
    };
    const u = new URL(url);
    u.username = "ada";
    u.password = "s3cret";
    const t = new HttpClientTransport(u);
    const got: unknown[] = [];
    t.onmessage = (m) => got.push(m);
    await t.send({ jsonrpc: "2.0", id: 1, method: "x" });
    expect(seen.at(-1)!.headers.authorization).toBe(
      `Basic ${Buffer.from("ada:s3cret").toString("base64")}`,
    );
    await t.close();
  });
  it("resumes a POST stream that ended before its answer with GET + Last-Event-ID", async () => {
    handler = (_b, req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      if (req.method === "POST") {
        const note = { jsonrpc: "2.0", method: "notifications/progress", params: { progress: 1 } };
        res.end(`id: e1\nretry: 10\ndata: ${JSON.stringify(note)}\n\n`);
        return;
      }
      expect(req.headers["last-event-id"]).toBe("e1");
      res.end(`id: e2\ndata: ${JSON.stringify(answer(7, "resumed"))}\n\n`);
    };
    const { t, next, errors } = client();
    await t.send({ jsonrpc: "2.0", id: 7, method: "slow" });
    expect(await next(1)).toMatchObject({ method: "notifications/progress" });
    expect(await next(2)).toEqual(answer(7, "resumed"));
    expect(seen.at(-1)!.method).toBe("GET");
    expect(errors).toEqual([]);
    await t.close();
  });
  it("rejects on HTTP errors and on a connection closed before the answer", async () => {
    handler = (b, req, res) => {
      if (b.method === "boom") {
        res.writeHead(500, { "content-type": "text/plain" });
        res.end("upstream exploded");
      } else req.socket.destroy();
    };
    const { t, errors } = client();
    await expect(t.send({ jsonrpc: "2.0", id: 1, method: "boom" })).rejects.toThrow(
      /HTTP 500: upstream exploded/,
    );
    await expect(t.send({ jsonrpc: "2.0", id: 2, method: "hangup" })).rejects.toThrow(/closed/);
    expect(errors.length).toBe(2);
    await t.close();
  });
  it("rejects with the socket's error when nothing listens", async () => {
    const free = createServer();
    await new Promise<void>((r) => free.listen(0, "127.0.0.1", r));
    const port = (free.address() as AddressInfo).port;
    await new Promise<void>((r) => free.close(() => r()));
    const t = new HttpClientTransport(new URL(`http://127.0.0.1:${port}/mcp`));
    await expect(t.send({ jsonrpc: "2.0", id: 1, method: "x" })).rejects.toThrow(/ECONNREFUSED/);
    await t.close();
  });
  it("sends again on a fresh connection when a kept-alive one closes without an answer", async () => {
    const served = new WeakSet<object>();
    let dropped = 0;
    handler = (b, req, res) => {
      if (served.has(req.socket)) {
        dropped++;
        return void req.socket.destroy();
      }
      served.add(req.socket);
      const body = JSON.stringify(answer(b.id, "ok"));
      res.writeHead(200, { "content-type": "application/json", "content-length": body.length });
      res.end(body);
    };
    const { t, next, errors } = client();
    for (let i = 1; i <= 3; i++) {
      await t.send({ jsonrpc: "2.0", id: i, method: "x" });
      expect(await next(i)).toEqual(answer(i, "ok"));
    }
    expect(dropped).toBeGreaterThan(0);
    expect(errors).toEqual([]);
    await t.close();
  });

  it("answers a quick request while a slow one is still in flight", async () => {
    const held: (() => void)[] = [];
    handler = (b, _req, res) => {
      const body = JSON.stringify(answer(b.id, String(b.method)));
      const go = () => {
        res.writeHead(200, { "content-type": "application/json", "content-length": body.length });
        res.end(body);
      };
      if (b.method === "slow") held.push(go);
      else go();
    };
    const { t, got, next } = client();
    const slow = t.send({ jsonrpc: "2.0", id: 1, method: "slow" });
    while (held.length === 0) await new Promise((r) => setTimeout(r, 5));
    await t.send({ jsonrpc: "2.0", id: 2, method: "quick" });
    expect(await next(1)).toEqual(answer(2, "quick"));
    for (const go of held) go();
    await slow;
    expect(await next(2)).toEqual(answer(1, "slow"));
    expect(got.length).toBe(2);
    await t.close();
  });
});

/** A raw TCP "HTTP server" that answers each request with the bytes `answer` gives. */
async function rawUpstream(answer: (request: string, n: number) => string | Buffer) {
  const requests: string[] = [];
  const server = createNetServer((s) => {
    let buf = "";
    s.on("data", (d) => {
      buf += d.toString("latin1");
      for (;;) {
        const end = buf.indexOf("\r\n\r\n");
        if (end < 0) return;
        const len = Number(/content-length: *(\d+)/i.exec(buf.slice(0, end))?.[1] ?? 0);
        if (buf.length < end + 4 + len) return;
        const req = buf.slice(0, end + 4 + len);
        buf = buf.slice(end + 4 + len);
        requests.push(req);
        s.write(answer(req, requests.length));
      }
    });
    s.on("error", () => {});
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const at = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`);
  return { at, requests, close: () => new Promise<void>((r) => server.close(() => r())) };
}

const jsonAnswer = (id: number, extra = "") => {
  const body = JSON.stringify(answer(id, "ok"));
  return `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n${extra}\r\n${body}`;
};

describe("the HTTP upstream client against hostile upstreams", () => {
  it("never writes a session id carrying a header line into its next requests", async () => {
    for (const sid of ["abc\nX-Injected: yes", "abc\rX-Injected: yes", "abc X-Injected"]) {
      const up = await rawUpstream((_r, n) => jsonAnswer(n, `Mcp-Session-Id: ${sid}\r\n`));
      const { t, errors } = client({}, undefined, up.at);
      const first = await t.send({ jsonrpc: "2.0", id: 1, method: "initialize" }).then(
        () => "sent",
        (e: Error) => e.message,
      );
      await t.send({ jsonrpc: "2.0", id: 2, method: "tools/list" }).catch(() => {});
      for (const r of up.requests) {
        expect(r.toLowerCase()).not.toMatch(/\r\nx-injected/);
        expect(r.toLowerCase()).not.toContain("mcp-session-id");
      }
      // refused, saying why, or (a bare LF ends the header line for undici) never copied raw
      // refused: by undici's parser (a bare CR or LF in a head) or by the client's check
      expect(first).not.toBe("sent");
      expect(errors.length).toBeGreaterThan(0);
      if (!/[\r\n]/.test(sid)) expect(first).toMatch(/Mcp-Session-Id .*visible ASCII/);
      await t.close();
      await up.close();
    }
  });

  it("cuts a JSON answer over the bound and answers the request with an error", async () => {
    const big = JSON.stringify(answer(1, "x".repeat(5000)));
    const up = await rawUpstream(
      () =>
        `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${big.length}\r\n\r\n${big}`,
    );
    const { t, next, errors } = client({}, 2048, up.at);
    await t.send({ jsonrpc: "2.0", id: 1, method: "tools/call" });
    expect(await next(1)).toMatchObject({
      id: 1,
      error: { message: expect.stringMatching(/over 2048 bytes .*max_answer_bytes/) },
    });
    expect(errors.length).toBe(1);
    await t.close();
    await up.close();
  });

  it("cuts an SSE event over the bound (even one that never ends) and answers with an error", async () => {
    const small = `data: ${JSON.stringify({ jsonrpc: "2.0", method: "notifications/progress", params: { progress: 1 } })}\n\n`;
    const up = await rawUpstream(
      () =>
        `HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n${(small.length).toString(16)}\r\n${small}\r\n1000\r\ndata: ${"y".repeat(4096 - 6)}\r\n1000\r\n${"y".repeat(4096)}\r\n`,
    );
    const { t, next, errors } = client({}, 2048, up.at);
    await t.send({ jsonrpc: "2.0", id: 1, method: "tools/call" });
    expect(await next(1)).toMatchObject({ method: "notifications/progress" });
    expect(await next(2)).toMatchObject({
      id: 1,
      error: { message: expect.stringMatching(/SSE event over 2048 bytes/) },
    });
    expect(errors.length).toBeGreaterThan(0);
    await t.close();
    await up.close();
  });
});

describe("upstreams[].client", () => {
  it("is refused, saying the one client replaced it", () => {
    const r = parseConfig(
      "policy: p.yaml\nupstreams:\n  - name: a\n    url: http://127.0.0.1:1/mcp\n    client: sdk\n",
      "<inline>",
    );
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.errors).toHaveLength(1);
      expect(r.errors[0]!.message).toMatch(/client was removed: .*undici/);
    }
  });
});
