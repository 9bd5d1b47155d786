// The lean HTTP/1.1 server under the gateway's front, on the wire: real clients (node:http,
// fetch, curl) and raw sockets for what clients should not send (smuggling attempts, bad
// heads, pipelining, chunked bodies, Expect: 100-continue, HTTP/1.0).
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { request } from "node:http";
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  LeanHttpServer,
  type LeanRequest,
  parseHead,
  RenderedHeaders,
} from "../../src/mcp/lean-http-server.js";

const MAX_BODY = 1024;

/** Send raw bytes (in pieces, with a pause between them) and read until the server closes or `ms`. */
function raw(port: number, pieces: string[], ms = 400): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, "127.0.0.1");
    let out = "";
    s.setEncoding("latin1");
    s.on("data", (d: string) => {
      out += d;
    });
    s.on("error", reject);
    s.on("close", () => resolve(out));
    let i = 0;
    const next = () => {
      if (i < pieces.length) {
        s.write(pieces[i++]!);
        setTimeout(next, 30);
      } else setTimeout(() => s.destroy(), ms);
    };
    s.on("connect", next);
  });
}

const RENDERED = RenderedHeaders.of(["content-type", "application/json", "mcp-session-id", "s-1"]);

const statuses = (wire: string) =>
  [...wire.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => Number(m[1]));

describe("the lean HTTP server", () => {
  let server: LeanHttpServer;
  let port: number;
  const seen: LeanRequest[] = [];

  beforeAll(async () => {
    server = new LeanHttpServer((req, res) => {
      seen.push(req);
      if (req.tooLarge) return void res.writeHead(413, { "content-type": "text/plain" }).end("big");
      if (req.url === "/slow") {
        setTimeout(() => res.writeHead(200, ["content-type", "text/plain"]).end("slow"), 50);
        return;
      }
      if (req.url === "/stream") {
        res.writeHead(200, ["content-type", "text/event-stream"]);
        res.flushHeaders();
        res.write("data: one\n\n");
        setTimeout(() => res.end("data: two\n\n"), 20);
        return;
      }
      if (req.url === "/rendered") return void res.writeHead(200, RENDERED).end('{"ok":1}');
      const body = req.body?.toString("utf8") ?? "";
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ method: req.method, url: req.url, body, host: req.headers.host }));
    }, MAX_BODY);
    port = (await server.listen(0, "127.0.0.1")).port;
  });
  afterAll(() => server.close());

  it("answers node:http and fetch clients, with Content-Length and keep-alive", async () => {
    const r = await fetch(`http://127.0.0.1:${port}/mcp`, { method: "POST", body: '{"a":1}' });
    expect(r.status).toBe(200);
    expect(r.headers.get("content-length")).not.toBeNull();
    expect(r.headers.get("date")).toMatch(/GMT$/);
    expect(await r.json()).toEqual({
      method: "POST",
      url: "/mcp",
      body: '{"a":1}',
      host: `127.0.0.1:${port}`,
    });
    const text = await new Promise<string>((resolve, reject) => {
      const req = request({ port, host: "127.0.0.1", path: "/x?y=1", method: "DELETE" }, (res) => {
        let t = "";
        res.on("data", (c) => (t += c));
        res.on("end", () => resolve(t));
      });
      req.on("error", reject);
      req.end();
    });
    expect(JSON.parse(text)).toMatchObject({ method: "DELETE", url: "/x?y=1", body: "" });
  });

  it("answers pipelined requests in order, one at a time, on one connection", async () => {
    const one = (path: string, body: string) =>
      `POST ${path} HTTP/1.1\r\nHost: a\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    const wire = await raw(port, [one("/slow", "1") + one("/fast", "22") + one("/slow", "333")]);
    expect(statuses(wire)).toEqual([200, 200, 200]);
    const bodies = wire
      .split("\r\n\r\n")
      .slice(1)
      .map((b) => b.split("HTTP/1.1")[0]);
    expect(bodies[0]).toBe("slow");
    expect(JSON.parse(bodies[1]!)).toMatchObject({ url: "/fast", body: "22" });
    expect(bodies[2]).toBe("slow");
  });

  it("reads chunked bodies and bodies split across packets", async () => {
    const wire = await raw(port, [
      "POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nab",
      "cd\r\n3;ext=1\r\nefg\r\n0\r\nTrailer: x\r\n\r\n",
    ]);
    expect(statuses(wire)).toEqual([200]);
    expect(wire).toContain('"body":"abcdefg"');
    const split = await raw(port, [
      "POST /s HTTP/1.1\r\nHo",
      "st: a\r\nContent-Length: 5\r\n\r\nhe",
      "llo",
    ]);
    expect(split).toContain('"body":"hello"');
  });

  it("sends 100 Continue before the body when asked (curl does for larger bodies)", async () => {
    const wire = await raw(port, [
      "POST /e HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n",
      "abc",
    ]);
    expect(statuses(wire)).toEqual([100, 200]);
    // curl (when the machine has it) waits for the 100 before it sends the body
    const out = await new Promise<string | undefined>((resolve) =>
      execFile(
        "curl",
        [
          "-s",
          "-m",
          "5",
          "-X",
          "POST",
          "--data-binary",
          "x".repeat(900),
          "-H",
          "Expect: 100-continue",
          `http://127.0.0.1:${port}/curl`,
        ],
        (e, stdout) =>
          resolve(e && (e as NodeJS.ErrnoException).code === "ENOENT" ? undefined : stdout),
      ),
    );
    if (out !== undefined) expect(JSON.parse(out).body).toHaveLength(900);
  });

  it.each([
    [
      "Content-Length with Transfer-Encoding",
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
      400,
    ],
    [
      "two Content-Lengths that differ",
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
      400,
    ],
    [
      "a Content-Length that is not digits",
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +3\r\n\r\nabc",
      400,
    ],
    [
      "a Transfer-Encoding other than chunked",
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
      501,
    ],
    ["space before the colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400],
    ["obs-fold", "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n  c\r\n\r\n", 400],
    ["two Host headers", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400],
    ["no Host on HTTP/1.1", "GET / HTTP/1.1\r\nX: y\r\n\r\n", 400],
    ["a bare LF in a header", "GET / HTTP/1.1\r\nHost: a\r\nX: a\nb\r\n\r\n", 400],
    ["HTTP/2.0 on the request line", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505],
    ["a malformed request line", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400],
    [
      "a bad chunk size",
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
      400,
    ],
    [
      "an unknown Expect",
      "POST / HTTP/1.1\r\nHost: a\r\nExpect: magic\r\nContent-Length: 0\r\n\r\n",
      417,
    ],
  ])("refuses %s, and reads nothing more from that connection", async (_what, bad, status) => {
    const before = seen.length;
    const wire = await raw(port, [`${bad}GET /after HTTP/1.1\r\nHost: a\r\n\r\n`]);
    expect(statuses(wire)).toEqual([status]);
    expect(wire).toContain("connection: close");
    expect(seen.length).toBe(before);
  });

  it("says in the refusal what was wrong and what to send instead", async () => {
    const smuggle = await raw(port, [
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    ]);
    expect(smuggle).toContain("Content-Length and Transfer-Encoding together: send one of them");
    const coding = await raw(port, [
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n",
    ]);
    expect(coding).toContain('Not Implemented: Transfer-Encoding \\"gzip\\" is not served');
  });

  it("reads nothing after an answer that closes the connection (an unread oversize body)", async () => {
    const before = seen.length;
    // a client that keeps writing after the server's FIN (half-open), as a slow uploader does
    const wire = await new Promise<string>((resolve, reject) => {
      const s = connect({ port, host: "127.0.0.1", allowHalfOpen: true });
      let out = "";
      s.setEncoding("latin1");
      s.on("data", (d: string) => {
        out += d;
      });
      s.on("error", reject);
      s.on("end", () => {
        s.write(`GET /hidden HTTP/1.1\r\nHost: a\r\n\r\n`);
        setTimeout(() => {
          s.destroy();
          resolve(out);
        }, 300);
      });
      s.on("connect", () =>
        s.write(`POST / HTTP/1.1\r\nHost: a\r\nContent-Length: ${MAX_BODY + 10}\r\n\r\n`),
      );
    });
    expect(statuses(wire)).toEqual([413]);
    expect(seen.slice(before).map((r) => r.url)).toEqual(["/"]);
  });

  it("refuses a head over 16 KiB with 431", async () => {
    const wire = await raw(port, [
      `GET / HTTP/1.1\r\nHost: a\r\nX: ${"a".repeat(17 * 1024)}\r\n\r\n`,
    ]);
    expect(statuses(wire)).toEqual([431]);
  });

  it("hands an oversize body to the handler as tooLarge and closes after the answer", async () => {
    const wire = await raw(port, [
      `POST / HTTP/1.1\r\nHost: a\r\nContent-Length: ${MAX_BODY + 1}\r\n\r\n`,
      `GET /after HTTP/1.1\r\nHost: a\r\n\r\n`,
    ]);
    expect(statuses(wire)).toEqual([413]);
    expect(wire).toContain("connection: close");
    const chunked = await raw(port, [
      `POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n${(MAX_BODY + 1).toString(16)}\r\n${"a".repeat(MAX_BODY + 1)}\r\n0\r\n\r\n`,
    ]);
    expect(statuses(chunked)).toEqual([413]);
  });

  it("streams with chunked encoding on HTTP/1.1 and closes HTTP/1.0 connections", async () => {
    const wire = await raw(port, ["GET /stream HTTP/1.1\r\nHost: a\r\n\r\n"]);
    expect(wire).toContain("transfer-encoding: chunked");
    expect(wire).toContain("b\r\ndata: one\n\n\r\n");
    expect(wire).toContain("b\r\ndata: two\n\n\r\n0\r\n\r\n");
    const old = await raw(port, ["GET /stream HTTP/1.0\r\n\r\n"], 1000);
    expect(old).not.toContain("transfer-encoding");
    expect(old).toContain("connection: close");
    expect(old.endsWith("data: one\n\ndata: two\n\n")).toBe(true);
    const head = await raw(port, ["HEAD /h HTTP/1.1\r\nHost: a\r\n\r\n"]);
    expect(statuses(head)).toEqual([200]);
    expect(head.endsWith("\r\n\r\n")).toBe(true);
  });

  it("joins a large body sent in many pieces exactly (pieces kept, joined once)", async () => {
    const big = new LeanHttpServer(
      (req, res) => {
        const b = req.body!;
        res.writeHead(200, ["content-type", "text/plain"]);
        res.end(`${b.length} ${createHash("sha256").update(b).digest("hex")}`);
      },
      4 * 1024 * 1024,
    );
    const p = (await big.listen(0, "127.0.0.1")).port;
    const piece = Buffer.alloc(64 * 1024);
    const hash = createHash("sha256");
    const text = await new Promise<string>((resolve, reject) => {
      const req = request(
        {
          port: p,
          host: "127.0.0.1",
          method: "POST",
          path: "/",
          headers: { "content-length": 48 * piece.length },
        },
        (res) => {
          let t = "";
          res.on("data", (c) => (t += c));
          res.on("end", () => resolve(t));
        },
      );
      req.on("error", reject);
      for (let i = 0; i < 48; i++) {
        piece.fill(i);
        hash.update(piece);
        req.write(Buffer.from(piece));
      }
      req.end();
    });
    await big.close();
    expect(text).toBe(`${48 * 64 * 1024} ${hash.digest("hex")}`);
  });

  it("closes after the answer when the client says Connection: close", async () => {
    const wire = await raw(
      port,
      ["GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\nGET /y HTTP/1.1\r\nHost: a\r\n\r\n"],
      2000,
    );
    expect(statuses(wire)).toEqual([200]);
    expect(wire).toContain("connection: close");
  });

  it("parses a head: names lower-cased, repeats joined, only SP and HTAB trimmed", () => {
    const h = parseHead(
      "POST /mcp?x=1 HTTP/1.1\r\nHost: a:1\r\nAccept:\tapplication/json \r\nX-A: 1\r\nx-a: 2\r\nX-N: \u00a0v\u00a0",
    );
    expect(h).toMatchObject({ method: "POST", url: "/mcp?x=1", version: 1 });
    const headers = (h as { headers: Record<string, string> }).headers;
    expect({ ...headers }).toEqual({
      host: "a:1",
      accept: "application/json",
      "x-a": "1, 2",
      "x-n": "\u00a0v\u00a0",
    });
    expect(parseHead("GET / HTTP/1.0")).toMatchObject({ version: 0, headers: {} });
    expect(parseHead("GET / HTTP/1.1\r\nHost: a\r\nX\u00e9: 1")).toMatchObject({
      status: 400,
      why: expect.stringContaining("header line is malformed"),
    });
    expect(parseHead("GET / HTTP/1.1\r\nHost: a\r\n: empty name")).toMatchObject({ status: 400 });
    expect(parseHead("GET / HTTP/2.0\r\nHost: a")).toMatchObject({
      status: 505,
      why: expect.stringContaining("use HTTP/1.1"),
    });
  });

  it("writes pre-rendered header lines as given, with the body's Content-Length once", async () => {
    const wire = await raw(port, [
      "GET /rendered HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    ]);
    const head = wire.slice(0, wire.indexOf("\r\n\r\n"));
    expect(head).toContain("\r\ncontent-type: application/json\r\nmcp-session-id: s-1\r\n");
    expect(head.match(/content-length: (\d+)/gi)).toEqual(["content-length: 8"]);
    expect(wire.endsWith('{"ok":1}')).toBe(true);
    // bad names and values are refused when rendered, not written later
    expect(() => RenderedHeaders.of(["x-a", "b\r\nset-cookie: x"])).toThrow(
      /invalid response header/,
    );
    expect(() => RenderedHeaders.of(["x a", "b"])).toThrow(/invalid response header/);
  });

  it("reads known and unknown names in any case; __proto__ and constructor are plain names", () => {
    const h = parseHead(
      "POST /mcp HTTP/1.1\r\nHOST: a\r\nMcp-Session-ID: s1\r\nX-Odd-Name: v\r\n__proto__: p\r\nConstructor: c\r\ncontent-LENGTH: 3",
    ) as { headers: Record<string, string> };
    expect({ ...h.headers }).toEqual({
      host: "a",
      "mcp-session-id": "s1",
      "x-odd-name": "v",
      ["__proto__"]: "p",
      constructor: "c",
      "content-length": "3",
    });
    expect(Object.getPrototypeOf(Object.getPrototypeOf(h.headers))).toBe(null);
    // a name the reader does not know, sent twice, is joined like any other
    const two = parseHead("GET / HTTP/1.1\r\nHost: a\r\nconstructor: 1\r\nCONSTRUCTOR: 2") as {
      headers: Record<string, string>;
    };
    expect(two.headers.constructor).toBe("1, 2");
    for (const [head, why] of [
      ["GET / HTTP/1.1\r\nHost: a\r\nhost: b", "more than one Host"],
      ["GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1x", "not a decimal number"],
      ["GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\ncontent-length: 2", "differ"],
      ["GET / HTTP/1.1\r\nHost: a\r\nX: a\rb", "malformed"],
      ["GET / HTTP/1.1\r\nHost: a\r\nX: a\nb", "malformed"],
      ["GET / HTTP/1.1\r\nHost: a\r\nX: a\u0000b", "malformed"],
      ["GET / HTTP/1.1\r\nHost: a\r\nX : a", "malformed"],
      ["GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n folded", "malformed"],
      ["GET / HTTP/1.1\r\nHost a", "malformed"],
      ["GET / HTTP/1.1\r\nX: a", "needs a Host"],
    ] as const) {
      expect(parseHead(head)).toMatchObject({ status: 400, why: expect.stringContaining(why) });
    }
  });
});
