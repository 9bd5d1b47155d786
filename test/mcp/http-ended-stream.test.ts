/**
 * A session's GET stream that the gateway already ended (the session is closing) can still be
 * handed a message by work that was under way (a reload announcing list changes). Writing it
 * threw ERR_STREAM_WRITE_AFTER_END out of the event loop, which ends a gateway process: found by
 * CI as an uncaught exception during test/hosted/reload-close.test.ts.
 */
import { createServer, request, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { HttpDownstream } from "../../src/mcp/http-session.js";

const servers: ReturnType<typeof createServer>[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

/** A real node:http response held open, as the gateway holds a GET stream. */
async function openResponse(): Promise<ServerResponse> {
  let res!: ServerResponse;
  const got = new Promise<void>((resolve) => {
    const server = createServer((_req, r) => {
      r.writeHead(200, { "content-type": "text/event-stream" });
      res = r;
      resolve();
    });
    servers.push(server);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      request({ port, host: "127.0.0.1", path: "/" }, (r) => r.resume())
        .on("error", () => {})
        .end();
    });
  });
  await got;
  return res;
}

describe("a message for a GET stream the gateway already ended", () => {
  it("is dropped: no error reaches the event loop", async () => {
    const down = new HttpDownstream("s1", "127.0.0.1");
    const res = await openResponse();
    down.attachGet(res);
    const errors: unknown[] = [];
    res.on("error", (e) => errors.push(e));
    const uncaught: unknown[] = [];
    const onUncaught = (e: unknown) => uncaught.push(e);
    process.on("uncaughtException", onUncaught);
    try {
      down.closeStreams();
      expect(res.writableEnded).toBe(true);
      down.send({ jsonrpc: "2.0", method: "notifications/tools/list_changed" });
      await new Promise((r) => setTimeout(r, 50));
    } finally {
      process.off("uncaughtException", onUncaught);
    }
    expect(errors).toEqual([]);
    expect(uncaught).toEqual([]);
  });
});
