/**
 * `warden run`'s side of the protocol: an HTTP/1.1 server (node:http) on loopback, on a random
 * port, answering only requests that carry the run's random token (401 otherwise: nothing else
 * on the machine may post events). Bodies are bounded and parsed by JSON.parse, then checked
 * for shape; a handler that returns a promise holds its answer, which holds the agent's next
 * request (backpressure, as the seed's bounded channel).
 */
import { randomBytes, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type {
  ChildReport,
  CommandAnswer,
  ConfigureAnswer,
  ConfigureRequest,
  JudgeAnswer,
  JudgeRequest,
  ReadyRequest,
  ReviewAnswer,
  ReviewRequest,
  ShutdownRequest,
  TraceEvent,
} from "./protocol.js";
import { checkBody } from "./shapes.js";

export interface TraceHandlers {
  configure(r: ConfigureRequest): ConfigureAnswer;
  ready(r: ReadyRequest): void;
  events(batch: TraceEvent[]): undefined | Promise<void>;
  child(r: ChildReport): void;
  review(r: ReviewRequest): Promise<ReviewAnswer>;
  shutdown(r: ShutdownRequest): void;
  command(): CommandAnswer;
  /** `/judge`, for agents that ask before each call (the Python agent); 404 without it. */
  judge?(r: JudgeRequest): JudgeAnswer;
}

export interface TraceServer {
  readonly url: string;
  readonly token: string;
  close(): Promise<void>;
}

/** Largest request body: a batch grows under load (64 Ki events of ~1 KiB stay below it). */
export const MAX_BODY = 64 * 1024 * 1024;
/** Connections at once: one per traced thread is the usual. */
export const MAX_CONNECTIONS = 1024;

export async function startTraceServer(h: TraceHandlers): Promise<TraceServer> {
  const token = randomBytes(32).toString("hex");
  const expected = Buffer.from(`Bearer ${token}`);
  const server: Server = createServer({ keepAliveTimeout: 120_000 }, (req, res) => {
    const auth = req.headers.authorization;
    const given = Buffer.from(typeof auth === "string" ? auth : "");
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      req.resume();
      return send(res, 401, { error: "a trace request needs the run's token" });
    }
    void route(h, req, res).catch((e: Error) => send(res, 500, { error: e.message }));
  });
  server.maxConnections = MAX_CONNECTIONS;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    token,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
  });
  res.end(text);
}

function readBody(req: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    // With a content-length (the agents send one), one buffer of that size, filled in place.
    const declared = Number(req.headers["content-length"]);
    const known = Number.isInteger(declared) && declared >= 0 && declared <= MAX_BODY;
    const whole = known ? Buffer.allocUnsafe(declared) : undefined;
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      if (size + c.length > (whole?.length ?? MAX_BODY)) {
        resolve(undefined);
        req.destroy();
        return;
      }
      if (whole !== undefined) c.copy(whole, size);
      else chunks.push(c);
      size += c.length;
    });
    req.on("end", () =>
      resolve(
        whole !== undefined
          ? whole.toString("utf8", 0, size)
          : Buffer.concat(chunks).toString("utf8"),
      ),
    );
    req.on("error", reject);
  });
}

async function route(h: TraceHandlers, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? "").split("?")[0];
  if (req.method === "GET" && path === "/command") return send(res, 200, h.command());
  if (req.method !== "POST") return send(res, 405, { error: `${req.method} is not served` });
  const text = await readBody(req);
  if (text === undefined) return send(res, 413, { error: `a body over ${MAX_BODY} bytes` });
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (e) {
    return send(res, 400, { error: `not JSON: ${(e as Error).message}` });
  }
  const bad = checkBody(path ?? "", body);
  if (bad !== undefined) return send(res, bad.status, { error: bad.error });
  switch (path) {
    case "/configure":
      return send(res, 200, h.configure(body as ConfigureRequest));
    case "/ready":
      h.ready(body as ReadyRequest);
      return send(res, 200, {});
    case "/events": {
      const wait = h.events(body as TraceEvent[]);
      if (wait !== undefined) await wait;
      return send(res, 200, {});
    }
    case "/child":
      h.child(body as ChildReport);
      return send(res, 200, {});
    case "/review":
      return send(res, 200, await h.review(body as ReviewRequest));
    case "/shutdown":
      h.shutdown(body as ShutdownRequest);
      return send(res, 200, {});
    case "/judge":
      if (h.judge === undefined) return send(res, 404, { error: "no endpoint /judge" });
      return send(res, 200, h.judge(body as JudgeRequest));
  }
}
