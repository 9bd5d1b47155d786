// A client that holds sockets open (partial heads, which live up to headers_timeout_seconds;
// idle keep-alives, keep_alive_seconds) must neither run the gateway out of file descriptors
// nor take every slot from the others: listen.http.max_connections bounds them in all,
// max_connections_per_address per remote address (src/core/connection-cap.ts).
import { connect, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { parseConfig } from "../../src/mcp/config.js";
import { type FrontSession, HttpFront } from "../../src/mcp/http-front.js";
import type { Message } from "../../src/mcp/jsonrpc.js";
import type { Downstream } from "../../src/mcp/session-core.js";
import { INIT, LOOPBACK_LISTEN } from "./http-raw.js";

class Echo implements FrontSession {
  constructor(readonly down: Downstream) {}
  receive(m: Message): void {
    if (!("method" in m) || !("id" in m)) return;
    this.down.send({ jsonrpc: "2.0", id: m.id, result: {} }, m.id);
  }
  async close(): Promise<void> {}
}

/** A socket from `from` (a loopback address) that sends half a head and holds. */
interface Held {
  socket: Socket;
  /** Resolves when the server closes it. */
  closed: Promise<void>;
  isClosed: () => boolean;
}
function hold(port: number, from: string): Promise<Held> {
  return new Promise((resolve, reject) => {
    let closed = false;
    let onClose: () => void = () => {};
    const closedP = new Promise<void>((r) => {
      onClose = r;
    });
    const socket = connect({ port, host: "127.0.0.1", localAddress: from }, () => {
      socket.write("POST /mcp HTTP/1.1\r\nhost: 127.0.0.1\r\n");
      resolve({ socket, closed: closedP, isClosed: () => closed });
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      closed = true;
      onClose();
    });
    socket.once("error", (e) => {
      if (!closed) reject(e);
    });
  });
}

/** A whole initialize POST from `from` on a fresh connection: the status, or "closed". */
function initFrom(port: number, from: string): Promise<number | "closed"> {
  return new Promise((resolve) => {
    const s = connect({ port, host: "127.0.0.1", localAddress: from }, () =>
      s.write(
        `POST /mcp HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\naccept: application/json, text/event-stream\r\ncontent-length: ${Buffer.byteLength(INIT)}\r\nconnection: close\r\n\r\n${INIT}`,
      ),
    );
    let out = "";
    s.on("data", (d) => {
      out += d;
    });
    s.on("error", () => {});
    s.on("close", () => {
      const m = /^HTTP\/1\.1 (\d{3})/.exec(out);
      resolve(m ? Number(m[1]) : "closed");
    });
  });
}

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("listen.http connection bounds", () => {
  let front: HttpFront | undefined;
  const held: Held[] = [];
  afterEach(async () => {
    for (const h of held.splice(0)) h.socket.destroy();
    await front?.close();
    front = undefined;
  });

  const start = async (connections: number, connectionsPerAddress: number) => {
    front = new HttpFront(
      { ...LOOPBACK_LISTEN, limits: { connections, connectionsPerAddress } },
      (d) => new Echo(d),
      undefined,
    );
    const lines: string[] = [];
    front.log = (l) => lines.push(l);
    return { port: (await front.listen()).port, lines };
  };

  it("one address holding its share is refused more; another address is still served", async () => {
    const { port, lines } = await start(100, 4);
    for (let i = 0; i < 4; i++) held.push(await hold(port, "127.0.0.2"));
    const extra = await hold(port, "127.0.0.2");
    held.push(extra);
    await extra.closed; // closed by the gateway, at once, before any answer
    await tick(100);
    expect(held.slice(0, 4).every((h) => !h.isClosed())).toBe(true);
    expect(await initFrom(port, "127.0.0.3")).toBe(200);
    expect(lines.join("\n")).toMatch(
      /refused 1 connection\(s\): 127\.0\.0\.2 holds 4 connections \(the per-address bound\).*max_connections_per_address/,
    );
    // a slot freed is a slot to take again
    held[0]!.socket.destroy();
    await held[0]!.closed;
    await tick(100);
    expect(await initFrom(port, "127.0.0.2")).toBe(200);
  });

  it("past max_connections in all, a new connection is closed; freed slots are served again", async () => {
    const { port } = await start(6, 100);
    for (let i = 0; i < 6; i++) held.push(await hold(port, `127.0.0.${10 + i}`));
    expect(await initFrom(port, "127.0.0.20")).toBe("closed");
    expect(held.every((h) => !h.isClosed())).toBe(true);
    held[0]!.socket.destroy();
    await held[0]!.closed;
    await tick(100);
    expect(await initFrom(port, "127.0.0.20")).toBe(200);
  });

  it("reads the keys from warden.yaml, with defaults, and refuses a bad value naming the key", () => {
    const base = "policy: ./p.yaml\nupstreams: [{ name: a, command: b }]\n";
    const dflt = parseConfig(`${base}listen: { http: { port: 0 } }\n`, "/cfg/warden.yaml");
    expect(dflt.ok).toBe(true);
    if (dflt.ok && dflt.config.listen.kind === "http")
      expect(dflt.config.listen.limits).toMatchObject({
        connections: 1024,
        connectionsPerAddress: 256,
      });
    const set = parseConfig(
      `${base}listen: { http: { port: 0, max_connections: 50, max_connections_per_address: 5 } }\n`,
      "/cfg/warden.yaml",
    );
    expect(set.ok).toBe(true);
    if (set.ok && set.config.listen.kind === "http")
      expect(set.config.listen.limits).toMatchObject({
        connections: 50,
        connectionsPerAddress: 5,
      });
    const bad = parseConfig(
      `${base}listen: { http: { port: 0, max_connections: 0 } }\n`,
      "/cfg/warden.yaml",
    );
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.errors.map((e) => e.key)).toContain("listen.http.max_connections");
  });
});
