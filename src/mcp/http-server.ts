/**
 * The node:http (llhttp) server under the HTTP front, with every limit set (docs/gateway.md,
 * "HTTP front"): head size, body size, time to send the head and the whole request, keep-alive,
 * and the bytes a body may take on the wire (chunk extensions count: node's parser does not
 * bound them). HTTPS when listen.http.tls is given.
 */
import { readFileSync } from "node:fs";
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { Socket } from "node:net";
import { capConnections } from "../core/connection-cap.js";
import { WardenError } from "../core/errors.js";
import { HTTP_LIMITS, type HttpListenConfig } from "./config-types.js";

const STATUS_TEXT: Record<number, string> = {
  400: "Bad Request",
  408: "Request Timeout",
  431: "Request Header Fields Too Large",
};

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** The server for a listen.http config (not yet listening). */
export function createFrontServer(
  cfg: HttpListenConfig,
  handler: Handler,
  onDrop?: (line: string) => void,
): Server {
  const l = { ...HTTP_LIMITS, ...cfg.limits };
  const opts = {
    maxHeaderSize: l.headerBytes,
    headersTimeout: l.headersTimeoutMs,
    requestTimeout: l.requestTimeoutMs,
    keepAliveTimeout: l.keepAliveMs,
    // a socket idle this long with no request in progress is closed (slow clients)
    connectionsCheckingInterval: Math.min(30_000, Math.max(1000, l.headersTimeoutMs / 4)),
    noDelay: true,
  };
  let server: Server;
  if (cfg.tls !== undefined) {
    const read = (what: "cert" | "key", file: string) => {
      try {
        return readFileSync(file);
      } catch (e) {
        throw new WardenError(
          "listen_failed",
          `Cannot read listen.http.tls.${what} ${file}: ${(e as Error).message}. Point it at a PEM file the gateway can read.`,
          { category: "config", cause: e },
        );
      }
    };
    server = createHttpsServer(
      { ...opts, cert: read("cert", cfg.tls.cert), key: read("key", cfg.tls.key) },
      handler,
    ) as unknown as Server;
  } else server = createHttpServer(opts, handler);
  capConnections(server, { total: l.connections, perAddress: l.connectionsPerAddress }, (n, why) =>
    onDrop?.(
      `listen.http: refused ${n} connection(s): ${why}; raise listen.http.max_connections / max_connections_per_address if these are real clients`,
    ),
  );
  // A malformed request, a head or trailers over the limit, a timeout: answer if nothing was
  // answered yet on this request, then close.
  server.on("clientError", (err: NodeJS.ErrnoException, socket: Socket) => {
    const status =
      err.code === "HPE_HEADER_OVERFLOW"
        ? 431
        : err.code === "ERR_HTTP_REQUEST_TIMEOUT"
          ? 408
          : 400;
    const res = (socket as { _httpMessage?: ServerResponse | null })._httpMessage;
    if (res != null) {
      // the head was read and handed over: the error is in the body or trailers
      if (!res.headersSent && !res.writableEnded && socket.writable) {
        res.writeHead(status, { connection: "close", "content-length": "0" });
        res.end(() => socket.destroy());
      } else socket.destroy();
      return;
    }
    if (!socket.writable) return void socket.destroy();
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_TEXT[status]}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`,
    );
  });
  return server;
}

/**
 * Read a request body whole, bounded: `done` gets it, or undefined after the request was
 * answered 413 and its connection closed (over `max` bytes of body, or over twice that on the
 * wire: chunk framing and extensions count), or when the client went away.
 */
export function readBody(
  req: IncomingMessage,
  res: ServerResponse,
  max: number,
  done: (body: Buffer | undefined) => void,
  /** Told (with the error's message) when the body was refused as too large. */
  tooLargeSeen: (message: string) => void = () => {},
): void {
  const tooLarge = () => {
    const message = `Payload too large: the body is over ${max} bytes (listen.http.max_body_bytes).`;
    tooLargeSeen(message);
    res.writeHead(413, { "content-type": "application/json", connection: "close" });
    res.end(
      JSON.stringify({
        jsonrpc: "2.0",
        id: null,
        error: { code: -32600, message, data: { warden: "message_too_large" } },
      }),
    );
    req.socket.destroySoon?.();
    done(undefined);
  };
  const declared = req.headers["content-length"];
  if (declared !== undefined && Number(declared) > max) {
    tooLarge();
    return;
  }
  const socket = req.socket;
  const wireStart = socket.bytesRead;
  const wireMax = 2 * max + 65_536;
  const chunks: Buffer[] = [];
  let size = 0;
  let over = false;
  req.on("data", (c: Buffer) => {
    if (over) return;
    size += c.length;
    if (size > max || socket.bytesRead - wireStart > wireMax) {
      over = true;
      chunks.length = 0;
      req.pause();
      tooLarge();
      return;
    }
    chunks.push(c);
  });
  req.on("end", () => {
    if (!over) done(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
  });
  req.on("error", () => {
    if (!over) {
      over = true;
      done(undefined);
    }
  });
}
