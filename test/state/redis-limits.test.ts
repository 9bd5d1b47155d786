// Rate-limit windows shared through a real redis-server (state.redis): two limiters (two
// connections, as two gateways have) allow exactly N calls between them; names that would
// collide if joined with a separator, glob characters and huge names get windows of their own;
// a hostile answer (a key of another type, a stranger's reply) fails the take instead of
// crashing; a take whose answer is lost (timeout) is removed again, never counted.
import { createServer, type Server } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  REDIS_DEFAULTS,
  RedisLimiter,
  type RedisSettings,
  RedisState,
  windowKey,
} from "../../src/state/index.js";
import { until } from "../mcp/helpers.js";
import { RedisServer } from "./redis-server.js";

let redis: RedisServer;
const open: RedisState[] = [];
async function connect(extra: Partial<RedisSettings> = {}, url = redis.url) {
  const s = RedisState.open({ ...REDIS_DEFAULTS, commandTimeoutMs: 5000, ...extra, url });
  open.push(s);
  expect(await s.waitUp(10_000)).toBe(true);
  return s;
}

beforeAll(async () => {
  redis = await RedisServer.start();
});
afterAll(async () => {
  await Promise.all(open.map((s) => s.close()));
  await redis?.close();
});

describe("shared rate-limit windows in Redis", () => {
  it("two limiters on one Redis allow exactly N calls between them", async () => {
    const a = new RedisLimiter(await connect());
    const b = new RedisLimiter(await connect());
    const takes = Array.from({ length: 40 }, (_, i) =>
      (i % 2 === 0 ? a : b).take('mcp.tools:{"n":7}', 7, "add", "alice"),
    );
    const got = await Promise.all(takes);
    expect(got.filter((r) => r.allowed)).toHaveLength(7);
    // another caller, another tool, another rule: windows of their own
    expect((await a.take('mcp.tools:{"n":7}', 7, "add", "bob")).allowed).toBe(true);
    expect((await b.take('mcp.tools:{"n":7}', 7, "sub", "alice")).allowed).toBe(true);
    expect((await b.take('mcp.tools:{"n":8}', 7, "add", "alice")).allowed).toBe(true);
    // the window holds exactly what was allowed (refused calls are not counted)
    const s = await connect();
    expect(await s.client.zcard(windowKey("warden:", 'mcp.tools:{"n":7}', "add", "alice"))).toBe(7);
    expect(
      await s.client.pttl(windowKey("warden:", 'mcp.tools:{"n":7}', "add", "alice")),
    ).toBeGreaterThan(0);
  });

  it("attacker: separators, glob characters and huge names cannot reach another window", async () => {
    const l = new RedisLimiter(await connect({ keyPrefix: "att:" }));
    const rule = "mcp.tools:{}";
    // joined with ":" these two would be the same key ("a:b:c")
    expect((await l.take(rule, 1, "b:c", "a")).allowed).toBe(true);
    expect((await l.take(rule, 1, "c", "a:b")).allowed).toBe(true);
    // the length prefix: ("ab", "c") and ("a", "bc") differ too
    expect((await l.take(rule, 1, "ab", "c")).allowed).toBe(true);
    expect((await l.take(rule, 1, "a", "bc")).allowed).toBe(true);
    // glob characters are not patterns: "*" fills only its own window
    expect((await l.take(rule, 1, "*", "*")).allowed).toBe(true);
    expect((await l.take(rule, 1, "*", "*")).allowed).toBe(false);
    expect((await l.take(rule, 1, "x", "y")).allowed).toBe(true);
    // a huge name makes a key of the usual length, under the prefix
    const huge = "n".repeat(200_000);
    const key = windowKey("att:", rule, huge, "mallory\r\n*3\r\n");
    expect(key.length).toBeLessThan(60);
    expect(key.startsWith("att:rl:")).toBe(true);
    expect((await l.take(rule, 1, huge, "mallory\r\n*3\r\n")).allowed).toBe(true);
    expect((await l.take(rule, 1, huge, "mallory\r\n*3\r\n")).allowed).toBe(false);
    expect((await l.take(rule, 1, huge.slice(1), "mallory\r\n*3\r\n")).allowed).toBe(true);
  });

  it("hostile: a window key of another type fails the take (no crash), other windows still work", async () => {
    const s = await connect({ keyPrefix: "bad:" });
    const l = new RedisLimiter(s);
    await s.client.set(windowKey("bad:", "r", "add", "eve"), "not a sorted set");
    await expect(l.take("r", 5, "add", "eve")).rejects.toThrow(/WRONGTYPE/);
    expect((await l.take("r", 5, "add", "alice")).allowed).toBe(true);
    // the script unknown to Redis (SCRIPT FLUSH, a restart): loaded again, still exact
    await s.client.script("FLUSH");
    expect((await l.take("r", 1, "echo", "alice")).allowed).toBe(true);
    expect((await l.take("r", 1, "echo", "alice")).allowed).toBe(false);
  });

  it("hostile: a server answering the script with something else fails the take", async () => {
    // speaks just enough RESP to pass the client's handshake and ready check, then answers
    // the script with an array of the wrong shape
    const fake: Server = createServer((sock) => {
      let buf = Buffer.alloc(0);
      sock.on("data", (b) => {
        buf = Buffer.concat([buf, b]);
        for (;;) {
          const cmd = readCommand(buf);
          if (cmd === undefined) break;
          buf = buf.subarray(cmd.used);
          const name = (cmd.args[0] ?? "").toLowerCase();
          if (name === "hello") sock.write("-ERR unknown command 'hello'\r\n");
          else if (name === "info") {
            const body = "# Server\r\nredis_version:7.0.0\r\nloading:0\r\n";
            sock.write(`$${Buffer.byteLength(body)}\r\n${body}\r\n`);
          } else if (name === "evalsha" || name === "eval") sock.write("*3\r\n:7\r\n+x\r\n$-1\r\n");
          else sock.write("+OK\r\n");
        }
      });
    });
    await new Promise<void>((r) => fake.listen(0, "127.0.0.1", r));
    try {
      const port = (fake.address() as { port: number }).port;
      const l = new RedisLimiter(await connect({}, `redis://127.0.0.1:${port}`));
      await expect(l.take("r", 5, "add", "eve")).rejects.toThrow(
        /Redis answered the rate-limit script with \[7,"x",null\]/,
      );
    } finally {
      fake.close();
    }
  });

  it("a take whose answer is lost (command timeout) is removed again: never counted", async () => {
    const s = await connect({ commandTimeoutMs: 200 });
    const admin = await connect();
    const l = new RedisLimiter(s);
    expect((await l.take("r", 5, "slowtool", "carol")).allowed).toBe(true);
    // Redis holds every client's commands for 1.5 s: the next take times out, then runs
    await admin.client.call("CLIENT", "PAUSE", "1500", "ALL");
    await expect(l.take("r", 5, "slowtool", "carol")).rejects.toThrow(/timed out|timeout/i);
    const key = windowKey("warden:", "r", "slowtool", "carol");
    // once Redis answers again, the timed-out call's member is removed: one call counted
    await until(
      async () => l.undoing === 0 && (await admin.client.zcard(key)) === 1,
      10_000,
      "undo",
    );
    expect(await admin.client.zcard(key)).toBe(1);
  });
});

/** One RESP command (an array of bulk strings) at the start of `buf`, if it is all there. */
function readCommand(buf: Buffer): { args: string[]; used: number } | undefined {
  const line = (at: number) => {
    const end = buf.indexOf("\r\n", at);
    return end < 0 ? undefined : { text: buf.subarray(at, end).toString(), next: end + 2 };
  };
  const head = line(0);
  if (head === undefined || !head.text.startsWith("*")) return undefined;
  let at = head.next;
  const args: string[] = [];
  for (let i = 0; i < Number(head.text.slice(1)); i++) {
    const len = line(at);
    if (len === undefined) return undefined;
    const n = Number(len.text.slice(1));
    if (buf.length < len.next + n + 2) return undefined;
    args.push(buf.subarray(len.next, len.next + n).toString());
    at = len.next + n + 2;
  }
  return { args, used: at };
}
