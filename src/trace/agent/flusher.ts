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
  decodeEvents,
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
const decisions: (DecisionNote & { json: string; ruleJson: string })[] = [];
/** Events waiting, as JSON text. */
let queue: string[] = [];
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

function postText(path: string, text: string): Promise<unknown> {
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

/** The event as a `TraceEvent`, built as JSON text directly (no object per event: less GC). */
function eventJson(e: RawEvent): string {
  const d = e.d >= 0 ? decisions[e.d] : undefined;
  const a = JSON.stringify(e.a);
  let args = `{"index":0,"display":${a}}`;
  if (e.x !== undefined)
    for (let i = 0; i < e.x.length; i++)
      args += `,{"index":${i + 1},"display":${JSON.stringify(e.x[i])}}`;
  const dot = e.f.indexOf(".");
  const module = dot > 0 ? e.f.slice(0, dot) : e.m;
  let s = `{"hook_type":"nodejs","event_type":"enter","function":"js:${e.f}","module":${JSON.stringify(module)},"arguments":[${args}],"timestamp_ns":${e.t},"thread_id":${data.threadId},"pid":${data.pid},"target":${a},"verdict":"${e.v}"`;
  if (e.p !== undefined) s += `,"network_info":{"host":${a},"port":${e.p}}`;
  // The reason of an allowed event is its rule's ("allowed by <rule_id> (<rule>)"): left out.
  if (d !== undefined) s += e.v === "allow" ? d.ruleJson : d.json;
  if (e.r !== undefined) s += `,"review":"${e.r}"`;
  return `${s}}`;
}

/** The decision's rule as JSON text to append to an event (`,"rule":...,"rule_id":...`). */
function ruleJson(d: DecisionNote): string {
  let s = "";
  if (d.rule !== undefined) s += `,"rule":${JSON.stringify(d.rule)}`;
  if (d.rule_id !== undefined) s += `,"rule_id":${JSON.stringify(d.rule_id)}`;
  return s;
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
      const batch = queue.length <= MAX_BATCH ? queue : queue.splice(0, MAX_BATCH);
      if (batch === queue) queue = [];
      try {
        if (dead === undefined) await postText("/events", `[${batch.join(",")}]`);
      } catch (e) {
        dead ??= (e as Error).message;
      }
      ack(batch.length);
    }
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
      decisions[m.d.id] = {
        ...m.d,
        ruleJson: ruleJson(m.d),
        json: `${ruleJson(m.d)},"reason":${JSON.stringify(m.d.reason)}`,
      };
      return;
    case "ev":
      decodeEvents(m.b, (e) => queue.push(eventJson(e)));
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
      sync("/review", { event: JSON.parse(eventJson(m.ev)) as TraceEvent });
      return;
    case "bye":
      sync("/shutdown", { pid: data.pid, thread_id: data.threadId, events_sent: m.sent });
      return;
  }
});
