/**
 * The floor the gateway is judged against: a plain Node byte relay with no parsing at all.
 * `relay.js stdio <command> [args...]` spawns the command and copies stdin→child and
 * child→stdout; `relay.js tcp <url>` listens on a loopback port and copies every connection's
 * bytes to and from the URL's host:port (prints `{"listening": url}` with the same path).
 * Whatever a relay adds over a direct call is the cost of one more Node process in the path
 * (wake-ups, pipe or socket hops) that any gateway pays before doing any work.
 * `relay.js http <url> [client]` is the standard HTTP stack's floor: a node:http server relaying
 * each request's bytes through an undici Pool (`dispatch`, as the gateway's client does), and the
 * answer's bytes back (no MCP work at all):
 * what the gateway's HTTP→HTTP path costs before judging, routing and the audit. `client`
 * picks another standard-stack client to compare (see `httpForwarder`).
 */
import { spawn } from "node:child_process";
import {
  Agent,
  createServer as createHttpServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type ServerResponse,
} from "node:http";
import { connect, createServer } from "node:net";
import { Client, type Dispatcher, Pool } from "undici";

/** Hop-by-hop headers a relay does not copy. */
const HOP = new Set(["connection", "keep-alive", "transfer-encoding", "host"]);
/** Copy the end-to-end headers (a request's Content-Length is undici's to write). */
const copy = (
  h: IncomingHttpHeaders | Record<string, string | string[] | undefined>,
  request = false,
) => {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(h))
    if (v !== undefined && !HOP.has(k) && !(request && k === "content-length")) out[k] = v;
  return out;
};

/** The standard-stack clients the HTTP relay can forward with (bench/floor.bench.ts compares them). */
const CLIENTS = ["pool", "client", "request", "agent"] as const;
type HttpClientKind = (typeof CLIENTS)[number];

/**
 * Forward one request's head and body to `up` and relay the answer: `pool` undici Pool.dispatch
 * (the floor, as the gateway's client calls), `client` one undici Client.dispatch (one
 * connection), `request` Pool.request (a body stream per answer), `agent` node:http's request
 * with a keep-alive Agent. A kept-alive connection closed before any answer is retried once.
 */
function httpForwarder(
  up: URL,
  kind: HttpClientKind,
): (req: IncomingMessage, body: Buffer | null, res: ServerResponse) => void {
  if (kind === "agent") {
    const agent = new Agent({ keepAlive: true, maxSockets: 256 });
    return (req, body, res) => {
      const r = httpRequest(
        {
          host: up.hostname,
          port: up.port,
          path: req.url,
          method: req.method,
          agent,
          headers: copy(req.headers),
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, copy(answer.headers));
          answer.on("data", (c: Buffer) => res.write(c));
          answer.on("end", () => res.end());
        },
      );
      r.on("error", () => res.destroy());
      r.end(body);
    };
  }
  const d: Dispatcher =
    kind === "client"
      ? new Client(up.origin, { pipelining: 1 })
      : new Pool(up.origin, { connections: 256, pipelining: 1 });
  if (kind === "request")
    return (req, body, res) => {
      const opts = {
        path: req.url ?? "/",
        method: req.method as "POST",
        headers: copy(req.headers, true),
        body,
      };
      d.request(opts)
        .then(async (r) => {
          res.writeHead(r.statusCode, copy(r.headers));
          for await (const c of r.body) res.write(c);
          res.end();
        })
        .catch(() => res.destroy());
    };
  return (req, body, res) => {
    // dispatch with a handler (no body stream per answer); sent once more when a kept-alive
    // connection was closed before any answer (as the gateway's client does)
    const send = (again: boolean) => {
      let started = false;
      d.dispatch(
        {
          path: req.url ?? "/",
          method: req.method as "POST",
          headers: copy(req.headers, true),
          body,
        },
        {
          onRequestStart: () => {},
          onResponseStart: (_c, status, headers) => {
            started = true;
            res.writeHead(status, copy(headers));
          },
          onResponseData: (_c, chunk) => void res.write(chunk),
          onResponseEnd: () => void res.end(),
          onResponseError: () =>
            !started && again ? setImmediate(() => send(false)) : res.destroy(),
        },
      );
    };
    send(true);
  };
}

const [mode, ...rest] = process.argv.slice(2);

if (mode === "stdio") {
  const child = spawn(rest[0]!, rest.slice(1), { stdio: ["pipe", "pipe", "inherit"] });
  process.stdin.on("data", (c: Buffer) => child.stdin!.write(c));
  child.stdout!.on("data", (c: Buffer) => process.stdout.write(c));
  process.stdin.on("end", () => child.stdin!.end());
  child.on("exit", () => process.exit(0));
} else if (mode === "tcp") {
  const up = new URL(rest[0]!);
  const server = createServer((down) => {
    down.setNoDelay(true);
    const s = connect(Number(up.port), up.hostname);
    s.setNoDelay(true);
    down.on("data", (c: Buffer) => s.write(c));
    s.on("data", (c: Buffer) => down.write(c));
    down.on("close", () => s.destroy());
    s.on("close", () => down.destroy());
    down.on("error", () => s.destroy());
    s.on("error", () => down.destroy());
  });
  server.listen(0, "127.0.0.1", () => {
    const a = server.address() as { port: number };
    process.stdout.write(
      `${JSON.stringify({ listening: `http://127.0.0.1:${a.port}${up.pathname}` })}\n`,
    );
  });
  process.on("SIGTERM", () => process.exit(0));
} else if (mode === "http") {
  const up = new URL(rest[0]!);
  const client = (rest[1] ?? "pool") as HttpClientKind;
  if (!CLIENTS.includes(client)) {
    process.stderr.write(`relay.js http: the client is one of ${CLIENTS.join(", ")}\n`);
    process.exit(2);
  }
  const forward = httpForwarder(up, client);
  const server = createHttpServer({ keepAliveTimeout: 65_000, noDelay: true }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body =
        chunks.length === 0 ? null : chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      forward(req, body, res);
    });
  });
  server.listen(0, "127.0.0.1", () => {
    const a = server.address() as { port: number };
    process.stdout.write(
      `${JSON.stringify({ listening: `http://127.0.0.1:${a.port}${up.pathname}` })}\n`,
    );
  });
  process.on("SIGTERM", () => process.exit(0));
} else {
  process.stderr.write(
    `usage: relay.js stdio <command> [args...] | relay.js tcp <url> | relay.js http <url> [${CLIENTS.join("|")}]\n`,
  );
  process.exit(2);
}
