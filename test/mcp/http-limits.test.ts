// The HTTP front under hostile clients (issue 18, points 2 and 4): node:http's parser with its
// limits set. Floods are cut and a legitimate client is still answered meanwhile; malformed
// framing is refused. Budgets are small and fixed: the floods stop on their own past 40 MB.
import { connect, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../src/mcp/config.js";
import type { HttpListenConfig } from "../../src/mcp/config-types.js";
import { type FrontSession, HttpFront } from "../../src/mcp/http-front.js";
import type { Message } from "../../src/mcp/jsonrpc.js";
import type { Downstream } from "../../src/mcp/session-core.js";
import { LOOPBACK_LISTEN as LISTEN, postRaw } from "./http-raw.js";

/** Answers initialize and echo. */
class Echo implements FrontSession {
  constructor(readonly down: Downstream) {}
  receive(m: Message): void {
    if (!("method" in m) || !("id" in m)) return;
    const result = m.method === "initialize" ? { protocolVersion: "2025-06-18" } : { ...m.params };
    this.down.send({ jsonrpc: "2.0", id: m.id, result }, m.id);
  }
  async close(): Promise<void> {}
}

const INIT = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: {} });

/** Send raw bytes, collect what comes back until the server closes the connection. */
function raw(port: number, text: string): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(port, "127.0.0.1", () => s.end(text));
    let out = "";
    s.on("data", (d) => {
      out += d;
    });
    s.on("close", () => resolve(out));
    s.on("error", () => {});
  });
}

interface Flood {
  /** Bytes written before the server cut the connection. */
  sent: number;
  /** What the server answered before cutting. */
  answer: string;
  /** True if the whole budget went out without the server cutting. */
  uncut: boolean;
}

/**
 * Write `head`, then `piece()` over and over (up to `budget` bytes) as fast as the server reads;
 * resolves when the server cuts the connection or the budget is spent. `started` fires once
 * 1 MB is out, so a legitimate call can be made in the middle of the flood.
 */
function flood(
  port: number,
  head: string,
  piece: () => string,
  started: () => void,
  budget = 40e6,
): Promise<Flood> {
  return new Promise((resolve) => {
    const r: Flood = { sent: 0, answer: "", uncut: false };
    let closed = false;
    let fired = false;
    const s: Socket = connect(port, "127.0.0.1", () => {
      s.write(head);
      const pump = () => {
        while (!closed && r.sent < budget) {
          const p = piece();
          r.sent += p.length;
          if (!fired && r.sent > 1e6) {
            fired = true;
            started();
          }
          if (!s.write(p)) return void s.once("drain", pump);
        }
        if (!closed) {
          r.uncut = true;
          s.destroy();
        }
      };
      pump();
    });
    s.on("data", (d) => {
      r.answer += d;
    });
    s.on("error", () => {});
    s.on("close", () => {
      closed = true;
      resolve(r);
    });
  });
}

describe("the HTTP front under hostile clients", () => {
  let front: HttpFront;
  let port: number;
  let authed: HttpFront;
  let authedPort: number;

  const legit = async (p = port, headers: Record<string, string> = {}) => {
    const r = await postRaw(`http://127.0.0.1:${p}/mcp`, INIT, headers);
    return { status: r.status, body: await r.json() };
  };

  beforeAll(async () => {
    front = new HttpFront(LISTEN, (d) => new Echo(d), undefined);
    port = (await front.listen()).port;
    authed = new HttpFront(LISTEN, (d) => new Echo(d), "s3cret");
    authedPort = (await authed.listen()).port;
  });
  afterAll(async () => {
    await front?.close();
    await authed?.close();
  });

  const chunked =
    "POST /mcp HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\naccept: application/json\r\ntransfer-encoding: chunked\r\n";

  it("cuts a flood of 1-byte chunks with 1,000-byte extensions, and answers others meanwhile", async () => {
    const ext = `;${"e".repeat(1000)}`;
    let during: Promise<{ status: number; body: unknown }> | undefined;
    const f = await flood(
      port,
      `${chunked}\r\n`,
      () => `1${ext}\r\n \r\n`,
      () => {
        during = legit();
      },
    );
    expect(f.uncut).toBe(false);
    // the answer may be lost when the connection is reset under the flood; the cut is what counts
    if (f.answer !== "") expect(f.answer).toMatch(/^HTTP\/1\.1 413 /);
    if (f.answer !== "") expect(f.answer).toContain("listen.http.max_body_bytes");
    expect(await during).toMatchObject({ status: 200, body: { id: 1, result: {} } });
  });

  it("cuts a trailer flood at the head limit, and answers others meanwhile", async () => {
    let n = 0;
    let during: Promise<{ status: number; body: unknown }> | undefined;
    const f = await flood(
      port,
      `${chunked}\r\n2\r\n{}\r\n0\r\n`,
      () => `x-t${n++}: ${"t".repeat(1000)}\r\n`,
      () => {
        during = legit();
      },
    );
    expect(f.uncut).toBe(false);
    // the answer may be lost when the connection is reset under the flood; the cut is what counts
    if (f.answer !== "") expect(f.answer).toMatch(/^HTTP\/1\.1 431 /);
    expect(await during).toMatchObject({ status: 200, body: { id: 1 } });
  });

  it("answers a flood sent before the token with 401 without reading its body", async () => {
    let during: Promise<{ status: number; body: unknown }> | undefined;
    const f = await flood(
      authedPort,
      `${chunked}\r\n`,
      () => `1;${"e".repeat(1000)}\r\n \r\n`,
      () => {
        during = legit(authedPort, { authorization: "Bearer s3cret" });
      },
    );
    expect(f.uncut).toBe(false);
    // the answer may be lost when the connection is reset under the flood; the cut is what counts
    if (f.answer !== "") expect(f.answer).toMatch(/^HTTP\/1\.1 401 /);
    expect(await during).toMatchObject({ status: 200, body: { id: 1 } });
  });

  it("refuses a chunked body of more than 4 MiB (413) and closes the connection", async () => {
    const piece = `10000\r\n${"x".repeat(0x10000)}\r\n`;
    const f = await flood(
      port,
      `${chunked}\r\n`,
      () => piece,
      () => {},
    );
    expect(f.uncut).toBe(false);
    // the answer may be lost when the connection is reset under the flood; the cut is what counts
    if (f.answer !== "") expect(f.answer).toMatch(/^HTTP\/1\.1 413 /);
  });

  it("refuses malformed framing with 400: bare LF, spaces around a chunk size, TE on HTTP/1.0", async () => {
    const bad = {
      "bare LF in a chunk extension": `${chunked}\r\n2;a\nb\r\n{}\r\n0\r\n\r\n`,
      "bare LF in a trailer": `${chunked}\r\n2\r\n{}\r\n0\r\nx-a: b\nx-c: d\r\n\r\n`,
      "spaces around a chunk size": `${chunked}\r\n 2 \r\n{}\r\n0\r\n\r\n`,
      "bare LF in a header": `POST /mcp HTTP/1.1\r\nhost: 127.0.0.1\ncontent-length: 2\r\n\r\n{}`,
      "Content-Length with Transfer-Encoding": `${chunked}content-length: 2\r\n\r\n2\r\n{}\r\n0\r\n\r\n`,
      "two Content-Lengths": `POST /mcp HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\n{}`,
      "Transfer-Encoding on HTTP/1.0": `POST /mcp HTTP/1.0\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\naccept: application/json\r\ntransfer-encoding: chunked\r\n\r\n${(INIT.length).toString(16)}\r\n${INIT}\r\n0\r\n\r\n`,
    };
    for (const [what, text] of Object.entries(bad))
      expect((await raw(port, text)).split("\r\n")[0], what).toMatch(/^HTTP\/1\.1 400 /);
  });

  it("refuses a head over 16 KiB with 431", async () => {
    const r = await raw(
      port,
      `GET /mcp HTTP/1.1\r\nhost: 127.0.0.1\r\nx-big: ${"b".repeat(17_000)}\r\n\r\n`,
    );
    expect(r).toMatch(/^HTTP\/1\.1 431 /);
  });

  it("takes its limits from warden.yaml (max_body_bytes)", async () => {
    const r = parseConfig(
      "listen: { http: { port: 0, max_body_bytes: 2048 } }\npolicy: p.yaml\nupstreams: [{ name: a, command: x }]\n",
      "<inline>",
    );
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    const small = new HttpFront(r.config.listen as HttpListenConfig, (d) => new Echo(d), undefined);
    const p = (await small.listen()).port;
    try {
      const big = JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "initialize",
        params: { x: "y".repeat(3000) },
      });
      const res = await postRaw(`http://127.0.0.1:${p}/mcp`, big);
      expect(res.status).toBe(413);
      expect((await legit(p)).status).toBe(200);
    } finally {
      await small.close();
    }
  });
});
