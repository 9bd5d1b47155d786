/**
 * A `fetch` for the SDK's Streamable HTTP client transport, on node:http keep-alive agents
 * instead of undici's fetch: JSON answers are read whole and handed over as a small Response,
 * SSE answers as a web stream. It also fixes the SDK's shared-AbortSignal leak on Node 20: each
 * request links to the shared signal only while it is alive (see docs/gateway.md).
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { Readable } from "node:stream";
import type { FetchLike } from "@modelcontextprotocol/sdk/shared/transport.js";

function plainHeaders(h: RequestInit["headers"]): Record<string, string> {
  const out: Record<string, string> = {};
  if (h === undefined) return out;
  if (h instanceof Headers)
    h.forEach((v, k) => {
      out[k] = v;
    });
  else if (Array.isArray(h)) for (const [k, v] of h) out[k!.toLowerCase()] = v!;
  else for (const [k, v] of Object.entries(h)) out[k.toLowerCase()] = String(v);
  return out;
}

function webHeaders(res: IncomingMessage): Headers {
  const h = new Headers();
  for (const [k, v] of Object.entries(res.headers))
    if (v !== undefined) h.set(k, Array.isArray(v) ? v.join(", ") : v);
  return h;
}

export function nodeHttpFetch(maxSockets = 256): FetchLike {
  const agents = {
    http: new HttpAgent({ keepAlive: true, maxSockets }),
    https: new HttpsAgent({ keepAlive: true, maxSockets }),
  };
  return (input, init) =>
    new Promise<Response>((resolve, reject) => {
      const url = typeof input === "string" ? new URL(input) : input;
      const secure = url.protocol === "https:";
      const shared = init?.signal ?? undefined;
      if (shared?.aborted) return reject(shared.reason);
      const req = (secure ? httpsRequest : httpRequest)(url, {
        method: init?.method ?? "GET",
        headers: plainHeaders(init?.headers),
        agent: secure ? agents.https : agents.http,
      });
      const onAbort = () =>
        req.destroy(shared?.reason instanceof Error ? shared.reason : new Error("aborted"));
      shared?.addEventListener("abort", onAbort, { once: true });
      const unlink = () => shared?.removeEventListener("abort", onAbort);
      req.on("error", (e) => {
        unlink();
        reject(e);
      });
      req.on("response", (res) => {
        const status = res.statusCode ?? 0;
        const headers = webHeaders(res);
        if ((res.headers["content-type"] ?? "").includes("text/event-stream")) {
          res.on("close", unlink);
          resolve(
            new Response(Readable.toWeb(res) as ReadableStream<Uint8Array>, {
              status,
              statusText: res.statusMessage,
              headers,
            }),
          );
          return;
        }
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", (e) => {
          unlink();
          reject(e);
        });
        res.on("end", () => {
          unlink();
          const empty = status === 204 || status === 304 || chunks.length === 0;
          const body = empty ? null : chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
          resolve(new Response(body, { status, statusText: res.statusMessage, headers }));
        });
      });
      const body = init?.body;
      if (body === undefined || body === null) req.end();
      else if (typeof body === "string" || body instanceof Uint8Array) req.end(body);
      else req.destroy(new Error("nodeHttpFetch sends only string or byte bodies"));
    });
}
