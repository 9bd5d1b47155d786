// The admin listener's connection bounds (src/core/connection-cap.ts, ADMIN_DEFAULTS: 256 in all,
// 64 per remote address), against the real admin server: a client holding sockets open (half a
// request head, which lives up to the headers timeout) can neither run the process out of file
// descriptors nor take every slot from the other callers; a refused connection is closed at once,
// before any byte is read, and logged (admin.connections_refused, at most once a second).
import { connect, type Socket } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_DEFAULTS } from "../../src/admin/config-types.js";
import { type Running, startAdmin } from "./helpers.js";

interface Held {
  socket: Socket;
  closed: Promise<void>;
  isClosed: () => boolean;
}

/** A socket from `from` (a loopback address) that sends half a request head and holds. */
function hold(port: number, from: string): Promise<Held> {
  return new Promise((resolve, reject) => {
    let closed = false;
    let onClose: () => void = () => {};
    const closedP = new Promise<void>((r) => {
      onClose = r;
    });
    const socket = connect({ port, host: "127.0.0.1", localAddress: from }, () => {
      socket.write("GET /healthz HTTP/1.1\r\nhost: 127.0.0.1\r\n");
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

/** GET /healthz from `from` on a fresh connection: the status, or "closed". */
function healthzFrom(port: number, from: string): Promise<number | "closed"> {
  return new Promise((resolve) => {
    const s = connect({ port, host: "127.0.0.1", localAddress: from }, () =>
      s.write("GET /healthz HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n"),
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

describe("the admin listener's connection bounds (256 in all, 64 per address)", () => {
  let admin: Running;
  let port: number;
  const warnings: string[] = [];
  const held: Held[] = [];
  beforeAll(async () => {
    const log = {
      debug() {},
      info() {},
      error() {},
      warn: (_o: object, m?: string) => void warnings.push(m ?? ""),
    };
    admin = await startAdmin({ log });
    port = Number(new URL(admin.url).port);
  });
  afterEach(async () => {
    for (const h of held.splice(0)) h.socket.destroy();
    await tick(100);
  });
  afterAll(() => admin?.close());

  it("the bounds are the documented ones", () => {
    expect(ADMIN_DEFAULTS).toMatchObject({ connections: 256, connectionsPerAddress: 64 });
  });

  it("hostile: one address holding its 64 is refused a 65th at once; another address is still served; a freed slot is served again", async () => {
    for (let i = 0; i < 64; i++) held.push(await hold(port, "127.0.0.2"));
    const extra = await hold(port, "127.0.0.2");
    held.push(extra);
    await extra.closed; // closed by the admin server at once, before any answer
    await tick(100);
    expect(held.slice(0, 64).every((h) => !h.isClosed())).toBe(true);
    expect(await healthzFrom(port, "127.0.0.3")).toBe(200);
    expect(warnings.join("\n")).toMatch(
      /admin: refused 1 connection\(s\): 127\.0\.0\.2 holds 64 connections \(the per-address bound\)/,
    );
    held[0]!.socket.destroy();
    await held[0]!.closed;
    await tick(100);
    expect(await healthzFrom(port, "127.0.0.2")).toBe(200);
  });

  it("hostile: past 256 connections in all (four addresses holding 64 each) a new one is closed; freed slots are served again", async () => {
    for (let a = 0; a < 4; a++)
      for (let i = 0; i < 64; i++) held.push(await hold(port, `127.0.0.${10 + a}`));
    expect(await healthzFrom(port, "127.0.0.20")).toBe("closed");
    expect(held.every((h) => !h.isClosed())).toBe(true);
    held[0]!.socket.destroy();
    await held[0]!.closed;
    await tick(100);
    expect(await healthzFrom(port, "127.0.0.20")).toBe(200);
  });
});
