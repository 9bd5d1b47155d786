// The lean HTTP upstream client's raw-socket path against a real node:http server that answers
// the ways a Streamable HTTP server may: JSON with content-length, chunked JSON, SSE split
// across writes (multi-byte characters cut in two), HTTP errors, a connection closed before an
// answer, and keep-alive sockets the server closes while they are idle.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LeanHttpClientTransport } from "../../src/mcp/lean-http-client.js";
import { RawHttpPool } from "../../src/mcp/lean-http-socket.js";

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

function client(headers: Record<string, string> = {}) {
  const t = new LeanHttpClientTransport(url, headers);
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

describe("lean HTTP client, raw socket path", () => {
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
    expect(req.rawHeaders).toContain("host"); // the raw path (node:http would write "Host")
    expect(req.socket.remotePort).toBe(seen.at(-2)!.socket.remotePort); // the socket is kept
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

  it("takes the node:http path for headers the raw path does not write as they are", async () => {
    handler = (b, _req, res) => {
      if (b.method === "sse") {
        res.writeHead(200, { "content-type": "text/event-stream", "mcp-session-id": "s-2" });
        res.end(`data: ${JSON.stringify(answer(b.id, "sse"))}\n\n`);
        return;
      }
      const body = JSON.stringify(answer(b.id, "json"));
      res.writeHead(200, { "content-type": "application/json", "content-length": body.length });
      res.end(body);
    };
    const { t, next, errors } = client({ Accept: "application/json, text/event-stream" });
    await t.send({ jsonrpc: "2.0", id: 1, method: "sse" });
    expect(await next(1)).toEqual(answer(1, "sse"));
    await t.send({ jsonrpc: "2.0", id: 2, method: "json" });
    expect(await next(2)).toEqual(answer(2, "json"));
    expect(seen.at(-1)!.headers["mcp-session-id"]).toBe("s-2");
    expect(seen.at(-1)!.rawHeaders).toContain("Host"); // node:http writes "Host", the raw path "host"
    expect(errors).toEqual([]);
    await t.close();
  });

  it("sends credentials given in the URL as Basic auth (node:http path)", async () => {
    handler = (b, _req, res) => {
      const body = JSON.stringify(answer(b.id, "auth"));
      res.writeHead(200, { "content-type": "application/json", "content-length": body.length });
      res.end(body);
    };
    const u = new URL(url);
    u.username = "ada";
    u.password = "s3cret";
    const t = new LeanHttpClientTransport(u);
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
    const t = new LeanHttpClientTransport(new URL(`http://127.0.0.1:${port}/mcp`));
    await expect(t.send({ jsonrpc: "2.0", id: 1, method: "x" })).rejects.toThrow(/ECONNREFUSED/);
    await t.close();
  });

  it("sends again on a fresh socket when a reused one closes without an answer", async () => {
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
    expect(dropped).toBe(2);
    expect(errors).toEqual([]);
    await t.close();
  });

  it("answers many requests in flight at once, each on its own socket", async () => {
    handler = (b, _req, res) => {
      const body = JSON.stringify(answer(b.id, "c"));
      setTimeout(
        () => {
          res.writeHead(200, { "content-type": "application/json", "content-length": body.length });
          res.end(body);
        },
        (b.id as number) % 2 === 0 ? 30 : 1,
      );
    };
    const { t, got, next } = client();
    await Promise.all(
      Array.from({ length: 16 }, (_, i) => t.send({ jsonrpc: "2.0", id: i, method: "x" })),
    );
    await next(16);
    expect((got as { id: number }[]).map((m) => m.id).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 16 }, (_, i) => i),
    );
    // the fast ones were not held up behind the slow ones
    expect((got.slice(0, 8) as { id: number }[]).every((m) => m.id % 2 === 1)).toBe(true);
    await t.close();
  });

  it("queues requests beyond the pool's socket limit and runs them as sockets free up", async () => {
    handler = (b, _req, res) => {
      const body = JSON.stringify(answer(b.id, "q"));
      setTimeout(() => {
        res.writeHead(200, { "content-type": "application/json", "content-length": body.length });
        res.end(body);
      }, 10);
    };
    const pool = new RawHttpPool("127.0.0.1", Number(url.port), 2);
    const ports = new Set<number>();
    const one = (id: number) =>
      new Promise<string>((resolve, reject) => {
        const body = JSON.stringify({ jsonrpc: "2.0", id, method: "x" });
        let text = "";
        pool.request(
          `POST /mcp HTTP/1.1\r\nhost: x\r\ncontent-length: ${body.length}\r\n\r\n${body}`,
          {
            head: (r) => expect(r.status).toBe(200),
            data: (c) => (text += c.toString()),
            end: () => resolve(text),
            error: reject,
          },
        );
      });
    const n = seen.length;
    const out = await Promise.all([1, 2, 3, 4, 5, 6].map(one));
    expect(out.map((t) => (JSON.parse(t) as { id: number }).id)).toEqual([1, 2, 3, 4, 5, 6]);
    for (const r of seen.slice(n)) ports.add(r.socket.remotePort!);
    expect(ports.size).toBe(2);
    pool.close();
  });
});
