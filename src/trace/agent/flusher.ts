/**
 * The agent's flusher thread (the seed's flush thread): receives compact events from the traced
 * thread, expands them into `TraceEvent`s and posts them to `warden run` in order, one request
 * at a time on one kept-alive connection, so that `/shutdown` arrives after the last `/events`.
 * A batch leaves at 64 events or 50 ms after its first; while a post is in flight the next
 * batch grows. Synchronous requests are answered on the port and signalled through the shared
 * array (the traced thread waits on it).
 */
import { Agent, request } from "node:http";
import { type MessagePort, workerData } from "node:worker_threads";
import { BATCH_EVENTS, BATCH_MS, type TraceEvent } from "../protocol.js";
import {
  type DecisionNote,
  type FromFlusher,
  type RawEvent,
  SLOT_ACKED,
  SLOT_ANSWERS,
  type ToFlusher,
} from "./wire.js";

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
const decisions: DecisionNote[] = [];
let queue: TraceEvent[] = [];
let chain: Promise<unknown> = Promise.resolve();
let sending = false;
let timer: NodeJS.Timeout | undefined;
let batchMs = BATCH_MS;
let batchEvents = BATCH_EVENTS;
/** The CLI is gone (or refused us): events are dropped, requests fail at once. */
let dead: string | undefined;

function post(path: string, body: unknown): Promise<unknown> {
  if (dead !== undefined) return Promise.reject(new Error(dead));
  const text = JSON.stringify(body);
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
          "content-length": Buffer.byteLength(text),
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
    req.end(text);
  });
}

function expand(e: RawEvent): TraceEvent {
  const d = e.d >= 0 ? decisions[e.d] : undefined;
  const args: { index: number; display: string }[] = [{ index: 0, display: e.a }];
  if (e.x !== undefined)
    for (let i = 0; i < e.x.length; i++) args.push({ index: i + 1, display: e.x[i]! });
  const dot = e.f.indexOf(".");
  const ev: Record<string, unknown> = {
    hook_type: e.m === "exec" ? "exec" : "nodejs",
    event_type: "enter",
    function: `js:${e.f}`,
    module: dot > 0 ? e.f.slice(0, dot) : e.m,
    arguments: args,
    timestamp_ns: e.t,
    thread_id: data.threadId,
    pid: data.pid,
    target: e.a,
    verdict: e.v,
  };
  if (e.p !== undefined) ev.network_info = { host: e.a, port: e.p };
  if (d !== undefined) {
    if (d.rule !== undefined) ev.rule = d.rule;
    if (d.rule_id !== undefined) ev.rule_id = d.rule_id;
    ev.reason = d.reason;
  }
  if (e.r !== undefined) ev.review = e.r;
  return ev as unknown as TraceEvent;
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
  return then(async () => {
    const batch = queue;
    queue = [];
    sending = false;
    if (batch.length === 0) return;
    try {
      if (dead === undefined) await post("/events", batch);
    } catch (e) {
      dead ??= (e as Error).message;
    }
    ack(batch.length);
  });
}

function schedule(): void {
  if (queue.length >= batchEvents) void sendEvents();
  else if (timer === undefined) timer = setTimeout(() => void sendEvents(), batchMs);
}

function sync(path: string, body: unknown, onDone?: (b: unknown) => void): void {
  void sendEvents();
  void then(() => post(path, body)).then(
    (b) => {
      onDone?.(b);
      answer({ ok: true, body: b });
    },
    (e: Error) => answer({ ok: false, error: e.message }),
  );
}

data.port.on("message", (m: ToFlusher) => {
  switch (m.t) {
    case "dec":
      decisions[m.d.id] = m.d;
      return;
    case "ev":
      for (const e of m.b) queue.push(expand(e));
      schedule();
      return;
    case "configure":
      sync("/configure", m.body, (b) => {
        const c = b as { batch_ms?: number; batch_events?: number };
        if (typeof c.batch_ms === "number") batchMs = c.batch_ms;
        if (typeof c.batch_events === "number") batchEvents = c.batch_events;
      });
      return;
    case "ready":
    case "child":
      void sendEvents();
      void then(() => post(`/${m.t}`, m.body)).catch(() => undefined);
      return;
    case "review":
      sync("/review", { event: expand(m.ev) });
      return;
    case "bye":
      sync("/shutdown", { pid: data.pid, thread_id: data.threadId, events_sent: m.sent });
      return;
  }
});
