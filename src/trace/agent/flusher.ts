/**
 * The agent's flusher thread (the seed's flush thread): receives batches of events (their
 * `TraceEvent` JSON texts, built in the traced thread) and posts them to `warden run` in order,
 * one request at a time on one kept-alive connection, so that `/shutdown` arrives after the last
 * `/events`. A batch leaves at 64 events or 50 ms after its first; while a post is in flight
 * everything that arrives waits, and goes in the next request (up to `MAX_BATCH` events: under
 * load batches grow beyond 64). Synchronous requests are answered on the port and signalled through the shared
 * array (the traced thread waits on it).
 */
import { Agent, request } from "node:http";
import { type MessagePort, workerData } from "node:worker_threads";
import { BATCH_EVENTS, BATCH_MS } from "../protocol.js";
import { type FromFlusher, SLOT_ACKED, SLOT_ANSWERS, type ToFlusher } from "./wire.js";

interface Data {
  url: string;
  token: string;
  pid: number;
  threadId: number;
  port: MessagePort;
  shared: Int32Array;
}

const data = workerData as Data;
const base = new URL(data.url);
const agent = new Agent({ keepAlive: true, maxSockets: 1 });
/** Batches waiting (JSON texts joined by commas, UTF-8) and their event counts. */
let queue: Uint8Array[] = [];
let counts: number[] = [];
let queued = 0;
let chain: Promise<unknown> = Promise.resolve();
let sending = false;
let timer: NodeJS.Timeout | undefined;
let batchMs = BATCH_MS;
let batchEvents = BATCH_EVENTS;
/** The CLI is gone (or refused us): events are dropped, requests fail at once. */
let dead: string | undefined;

/** Events per request at most: the CLI handles one while the next is built. */
const MAX_BATCH = 8192;

function post(path: string, body: unknown): Promise<unknown> {
  return postText(path, JSON.stringify(body));
}

const OPEN = Buffer.from("[");
const COMMA = Buffer.from(",");
const CLOSE = Buffer.from("]");

/** `[part,part,...]` as the body, written as the buffers are (no copy into one string). */
function postParts(path: string, parts: readonly Uint8Array[]): Promise<unknown> {
  const body: Uint8Array[] = [OPEN];
  let size = 1 + parts.length;
  for (let i = 0; i < parts.length; i++) {
    if (i > 0) body.push(COMMA);
    body.push(parts[i]!);
    size += parts[i]!.length;
  }
  body.push(CLOSE);
  return postBody(path, body, size);
}

function postText(path: string, text: string): Promise<unknown> {
  return postBody(path, [Buffer.from(text)], Buffer.byteLength(text));
}

function postBody(path: string, body: readonly Uint8Array[], size: number): Promise<unknown> {
  if (dead !== undefined) return Promise.reject(new Error(dead));
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: base.hostname,
        port: base.port,
        path,
        method: "POST",
        agent,
        headers: {
          authorization: `Bearer ${data.token}`,
          "content-type": "application/json",
          "content-length": size,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const s = Buffer.concat(chunks).toString("utf8");
          if (res.statusCode !== 200) {
            reject(
              new Error(`warden run answered ${res.statusCode} to ${path}: ${s.slice(0, 200)}`),
            );
            return;
          }
          try {
            resolve(s === "" ? {} : JSON.parse(s));
          } catch (e) {
            reject(e);
          }
        });
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.cork();
    for (const b of body) req.write(b);
    req.end();
  });
}

function answer(a: FromFlusher): void {
  data.port.postMessage(a);
  Atomics.add(data.shared, SLOT_ANSWERS, 1);
  Atomics.notify(data.shared, SLOT_ANSWERS);
}

function ack(n: number): void {
  Atomics.add(data.shared, SLOT_ACKED, n);
  Atomics.notify(data.shared, SLOT_ACKED);
}

/** Queue a request after everything queued before it. */
function then<T>(f: () => Promise<T>): Promise<T> {
  const p = chain.then(f, f);
  chain = p.catch(() => undefined);
  return p;
}

function sendEvents(): Promise<void> {
  if (timer !== undefined) {
    clearTimeout(timer);
    timer = undefined;
  }
  if (sending || queue.length === 0) return Promise.resolve();
  sending = true;
  // One task posts everything waiting, a bounded batch at a time, events that arrive meanwhile
  // included: a request queued after it (`/shutdown`) goes after all of them.
  return then(async () => {
    sending = false;
    while (queue.length > 0) {
      // Whole batches, up to MAX_BATCH events (at least one batch).
      let k = 0;
      let n = 0;
      while (k < queue.length && (k === 0 || n + counts[k]! <= MAX_BATCH)) n += counts[k++]!;
      const parts = k === queue.length ? queue : queue.slice(0, k);
      queue = k === queue.length ? [] : queue.slice(k);
      counts = k === counts.length ? [] : counts.slice(k);
      queued -= n;
      try {
        if (dead === undefined) await postParts("/events", parts);
      } catch (e) {
        dead ??= (e as Error).message;
      }
      ack(n);
    }
  });
}

function schedule(): void {
  if (queued >= batchEvents) void sendEvents();
  else if (timer === undefined) timer = setTimeout(() => void sendEvents(), batchMs);
}

function sync(path: string, body: unknown, onDone?: (b: unknown) => void): void {
  syncText(path, JSON.stringify(body), onDone);
}

function syncText(path: string, text: string, onDone?: (b: unknown) => void): void {
  void sendEvents();
  void then(() => postText(path, text)).then(
    (b) => {
      onDone?.(b);
      answer({ ok: true, body: b });
    },
    (e: Error) => answer({ ok: false, error: e.message }),
  );
}

data.port.on("message", (m: ToFlusher) => {
  switch (m.t) {
    case "ev":
      queue.push(m.b);
      counts.push(m.n);
      queued += m.n;
      schedule();
      return;
    case "configure":
      sync("/configure", m.body, (b) => {
        const c = b as { batch_ms?: number; batch_events?: number };
        if (typeof c.batch_ms === "number") batchMs = c.batch_ms;
        if (typeof c.batch_events === "number") batchEvents = c.batch_events;
      });
      return;
    case "hello":
      // The answer came in a file: registered here, first in order, and not answered; if it
      // fails, the run is gone (or refuses this agent) and the events after it are dropped.
      void then(() => post("/configure", m.body)).then(
        (b) => {
          const c = b as { batch_ms?: number; batch_events?: number };
          if (typeof c.batch_ms === "number") batchMs = c.batch_ms;
          if (typeof c.batch_events === "number") batchEvents = c.batch_events;
        },
        (e: Error) => {
          dead ??= e.message;
        },
      );
      return;
    case "ready":
    case "child":
      void sendEvents();
      void then(() => post(`/${m.t}`, m.body)).catch(() => undefined);
      return;
    case "review":
      syncText("/review", `{"event":${m.ev}}`);
      return;
    case "bye":
      sync("/shutdown", { pid: data.pid, thread_id: data.threadId, events_sent: m.sent });
      return;
  }
});
