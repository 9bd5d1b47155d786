// The live decisions stream's per-caller bound without tokens (a loopback admin listener, every
// request "anonymous"): the caller is then one remote address, so one local client holding 8
// streams is refused a 9th (429 admin_streams_full naming it) while a client from another
// address still follows. A real gateway's views behind a real admin listener with the page's routes.
import { type ClientRequest, request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pageRoutes } from "../../src/admin/page/routes.js";
import { MAX_STREAMS_PER_CALLER } from "../../src/admin/page/stream.js";
import { Gateway, loadGatewayConfig } from "../../src/index.js";
import { stdioUpstream, writeGatewayFiles } from "../mcp/helpers.js";
import { type Running, startAdmin, tempDir } from "./helpers.js";

interface Opened {
  status: number;
  body: Promise<string>;
  req: ClientRequest;
}

/** GET the stream from `from` (a loopback address): its status once the head has come. */
function openFrom(port: number, from: string): Promise<Opened> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        path: "/v1/gateway/decisions/stream",
        localAddress: from,
        agent: false,
      },
      (res) => {
        let text = "";
        const body = new Promise<string>((done) => {
          res.on("data", (d) => {
            text += d;
          });
          res.on("end", () => done(text));
          res.on("close", () => done(text));
        });
        resolve({ status: res.statusCode ?? 0, body, req });
      },
    );
    req.on("error", (e) => reject(e));
    req.end();
  });
}

describe("live decision streams without tokens: one remote address is one caller", () => {
  let gw: Gateway;
  let admin: Running;
  let port: number;
  const open: Opened[] = [];
  beforeAll(async () => {
    const dir = tempDir("warden-streams-");
    const cfg = writeGatewayFiles(
      dir,
      `listen: { http: { port: 0 } }\npolicy: ./policy.yaml\naudit: { file: ./audit.jsonl }\nupstreams:\n${stdioUpstream("a")}`,
    );
    gw = await Gateway.start({ config: loadGatewayConfig(cfg), watch: false, log: () => {} });
    admin = await startAdmin({ views: gw.views(), extraRoutes: pageRoutes });
    port = Number(new URL(admin.url).port);
  });
  afterAll(async () => {
    for (const o of open) o.req.destroy();
    await admin?.close();
    await gw?.stop();
  });

  it("hostile: 127.0.0.2 holding 8 is refused a 9th (429, named); 127.0.0.3 still follows", async () => {
    for (let i = 0; i < MAX_STREAMS_PER_CALLER; i++) {
      const o = await openFrom(port, "127.0.0.2");
      open.push(o);
      expect(o.status, `stream ${i + 1}`).toBe(200);
    }
    const greedy = await openFrom(port, "127.0.0.2");
    expect(greedy.status).toBe(429);
    const body = JSON.parse(await greedy.body) as { code: string; message: string };
    expect(body.code).toBe("admin_streams_full");
    expect(body.message).toContain("anonymous (127.0.0.2) already follows 8 live decision streams");
    const other = await openFrom(port, "127.0.0.3");
    open.push(other);
    expect(other.status).toBe(200);
  });
});
