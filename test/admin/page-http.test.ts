// The admin page's endpoints as `warden gateway` serves them (the real CLI, built dist/, with
// admin: in warden.yaml and a real fixture upstream): the page at / with its headers, pins,
// upstreams, decisions and the live stream with the token; nothing without it; approval refused
// for a hash other than the pending one and for a malformed body; and under `warden admin`
// (no gateway) the gateway's endpoints answer 501 while the page still loads.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI, FIXTURE_POLICY, stdioUpstream, tempDir } from "../mcp/helpers.js";

const TOKEN = "page-http-token-0123456789";
const STALE = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
const OTHER = `sha256:${"1".repeat(64)}`;

/** Start the CLI; resolves with the admin URL it prints. */
function start(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ proc: ChildProcess; url: string }> {
  const proc = spawn(process.execPath, [CLI, ...args], {
    env: { ...process.env, ...env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  return new Promise((resolve, reject) => {
    let err = "";
    proc.stderr!.on("data", (d: Buffer) => {
      err += d.toString();
      const m = /(?:admin API on|warden admin: listening on) (http:\/\/\S+)/.exec(err);
      if (m) resolve({ proc, url: m[1]! });
    });
    proc.on("exit", (code) => reject(new Error(`warden exited ${code}: ${err}`)));
  });
}

const auth = { authorization: `Bearer ${TOKEN}` };
/** More callers (each its own token) for the live streams' bounds. */
const STREAMERS = ["alice", "bob", "carol", "dave", "erin"];
const tokenOf = (name: string) => `${TOKEN}-${name}`;

describe("the admin page's endpoints under warden gateway", () => {
  let proc: ChildProcess;
  let url: string;
  beforeAll(async () => {
    const dir = tempDir();
    mkdirSync(join(dir, "state"));
    writeFileSync(
      join(dir, "state", "pins.json"),
      JSON.stringify({
        version: 1,
        servers: {
          b: { echo: { hash: STALE, description: "old", seen_at: "2026-01-01T00:00:00.000Z" } },
        },
      }),
    );
    writeFileSync(join(dir, "policy.yaml"), FIXTURE_POLICY);
    writeFileSync(
      join(dir, "warden.yaml"),
      `listen: { http: { port: 0 } }\nstate: { dir: ./state }\npolicy: ./policy.yaml\naudit: { file: ./audit.jsonl }\nauth:\n  tokens: [{ name: ops, env: PAGE_TOKEN }${STREAMERS.map((n) => `, { name: ${n}, env: PAGE_TOKEN_${n.toUpperCase()} }`).join("")}]\nadmin:\n  listen: { port: 0 }\nupstreams:\n${stdioUpstream("b")}    sessions: shared\nsecurity_guards:\n  - id: rp\n    type: rug_pull\n`,
    );
    ({ proc, url } = await start(["gateway", "--config", join(dir, "warden.yaml")], {
      PAGE_TOKEN: TOKEN,
      ...Object.fromEntries(STREAMERS.map((n) => [`PAGE_TOKEN_${n.toUpperCase()}`, tokenOf(n)])),
    }));
  });
  afterAll(() => {
    proc?.kill();
  });

  it("serves the page at / with a strict CSP, and its script and style", async () => {
    const r = await fetch(`${url}/`);
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toMatch(/^text\/html/);
    expect(r.headers.get("content-security-policy")).toMatch(/default-src 'self'/);
    expect(r.headers.get("x-frame-options")).toBe("DENY");
    expect(r.headers.get("referrer-policy")).toBe("no-referrer");
    const html = await r.text();
    expect(html).toContain('<script type="module" src="/page.js"></script>');
    expect(html).not.toMatch(/<script>|<style|\sstyle=|\son[a-z]+=/); // nothing inline
    const js = await fetch(`${url}/page.js`);
    expect(js.headers.get("content-type")).toMatch(/^text\/javascript/);
    expect(await js.text()).toContain("/v1/gateway/decisions/stream");
    const etag = js.headers.get("etag")!;
    expect((await fetch(`${url}/page.js`, { headers: { "if-none-match": etag } })).status).toBe(
      304,
    );
    expect((await fetch(`${url}/page.css`)).headers.get("content-type")).toMatch(/^text\/css/);
  });

  it("answers 401 and nothing else without the token", async () => {
    for (const p of [
      "/v1/gateway/pins",
      "/v1/gateway/upstreams",
      "/v1/gateway/decisions",
      "/v1/gateway/decisions/stream",
    ]) {
      const r = await fetch(`${url}${p}`, { headers: { authorization: "Bearer wrong" } });
      expect(r.status, p).toBe(401);
      expect(((await r.json()) as { code: string }).code).toBe("admin_unauthorized");
    }
  });

  it("lists pins, upstreams and decisions with the token", async () => {
    type Ups = { upstreams: { name: string }[]; readiness: { ready: unknown } };
    const ups = (await (
      await fetch(`${url}/v1/gateway/upstreams`, { headers: auth })
    ).json()) as Ups;
    expect(ups.upstreams.map((u) => u.name)).toEqual(["b"]);
    expect(typeof ups.readiness.ready).toBe("boolean");
    const pins = (await (await fetch(`${url}/v1/gateway/pins`, { headers: auth })).json()) as {
      pins: unknown[];
    };
    expect(pins.pins).toContainEqual(
      expect.objectContaining({ upstream: "b", tool: "echo", hash: STALE }),
    );
    const d = await fetch(`${url}/v1/gateway/decisions?decision=deny&limit=5`, { headers: auth });
    expect(d.status).toBe(200);
    expect(Array.isArray(((await d.json()) as { decisions: unknown }).decisions)).toBe(true);
  });

  it("refuses a bad filter, a malformed approval and a hash that is not the pending one", async () => {
    const bad = await fetch(`${url}/v1/gateway/decisions?decision=maybe`, { headers: auth });
    expect(bad.status).toBe(400);
    const unknown = await fetch(`${url}/v1/gateway/decisions?evil=1`, { headers: auth });
    expect(unknown.status).toBe(400);
    const post = (body: unknown) =>
      fetch(`${url}/v1/gateway/pins/approve`, {
        method: "POST",
        headers: { ...auth, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    expect((await post({ upstream: "b", tool: "echo" })).status).toBe(400);
    expect((await post({ upstream: "b", tool: "echo", hash: "sha256:xyz" })).status).toBe(400);
    const wrong = await post({ upstream: "b", tool: "echo", hash: OTHER });
    expect(wrong.status).toBe(404);
    expect(((await wrong.json()) as { code: string }).code).toBe("pin_not_found");
    // a cross-site page cannot approve with the user's browser
    const cross = await fetch(`${url}/v1/gateway/pins/approve`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json", origin: "https://evil.example" },
      body: JSON.stringify({ upstream: "b", tool: "echo", hash: OTHER }),
    });
    expect(cross.status).toBe(403);
  });

  it("streams decisions as server-sent events with the page's headers", async () => {
    const ctl = new AbortController();
    const r = await fetch(`${url}/v1/gateway/decisions/stream`, {
      headers: auth,
      signal: ctl.signal,
    });
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toMatch(/^text\/event-stream/);
    expect(r.headers.get("content-security-policy")).toMatch(/default-src 'self'/);
    const reader = r.body!.getReader();
    const { value } = await reader.read();
    expect(new TextDecoder().decode(value)).toMatch(/^: following the audit/);
    ctl.abort();
  });

  it("hostile: one caller follows at most 8 live streams (429), so it cannot lock others out; 32 in all (503) until one closes", async () => {
    const open = async (who: string) => {
      const ctl = new AbortController();
      const r = await fetch(`${url}/v1/gateway/decisions/stream`, {
        headers: { authorization: `Bearer ${who === "ops" ? TOKEN : tokenOf(who)}` },
        signal: ctl.signal,
      });
      return { r, ctl };
    };
    type Refusal = { code: string; message: string; details: Record<string, number> };
    const streams: Awaited<ReturnType<typeof open>>[] = [];
    try {
      // one caller takes its 8; its 9th is refused, naming the caller and the bound
      for (let i = 0; i < 8; i++) {
        const s = await open("alice");
        expect(s.r.status, `alice's stream ${i + 1}`).toBe(200);
        streams.push(s);
      }
      const greedy = await open("alice");
      expect(greedy.r.status).toBe(429);
      const body = (await greedy.r.json()) as Refusal;
      expect(body.code).toBe("admin_streams_full");
      expect(body.message).toMatch(/alice already follows 8 live decision streams.*\(8\)/);
      expect(body.details).toMatchObject({ ofCaller: 8, maxPerCaller: 8, max: 32 });
      // others still follow: three more callers fill the 32 in all
      for (const who of ["bob", "carol", "dave"])
        for (let i = 0; i < 8; i++) {
          const s = await open(who);
          expect(s.r.status, `${who}'s stream ${i + 1}`).toBe(200);
          streams.push(s);
        }
      const late = await open("erin");
      expect(late.r.status).toBe(503);
      expect(late.r.headers.get("retry-after")).toBe("5");
      const lateBody = (await late.r.json()) as Refusal;
      expect(lateBody.code).toBe("admin_streams_full");
      expect(lateBody.message).toMatch(/32 live decision streams are open.*32 in all/);
      streams.pop()!.ctl.abort();
      // the server sees the close; erin's follower is then taken
      let again = await open("erin");
      for (let i = 0; again.r.status === 503 && i < 200; i++) {
        await again.r.body?.cancel();
        await new Promise((res) => setTimeout(res, 25));
        again = await open("erin");
      }
      expect(again.r.status).toBe(200);
      streams.push(again);
    } finally {
      for (const s of streams) s.ctl.abort();
    }
  });

  it("stops on SIGTERM while a live stream is open (the stream is ended, not waited for)", async () => {
    const ctl = new AbortController();
    const r = await fetch(`${url}/v1/gateway/decisions/stream`, {
      headers: auth,
      signal: ctl.signal,
    });
    expect(r.status).toBe(200);
    const exited = new Promise<number | null>((res) => proc.once("exit", (code) => res(code)));
    proc.kill("SIGTERM");
    // it exits (before the fix the admin listener waited for the stream forever)
    expect(await exited).toBe(0);
    ctl.abort();
  });
});

describe("the admin page under warden admin (no gateway)", () => {
  let proc: ChildProcess;
  let url: string;
  beforeAll(async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "policy.yaml"), FIXTURE_POLICY);
    writeFileSync(
      join(dir, "warden.yaml"),
      `policy: ./policy.yaml\nupstreams:\n${stdioUpstream("b")}admin:\n  listen: { port: 0 }\n`,
    );
    ({ proc, url } = await start(["admin", "--config", join(dir, "warden.yaml")], {}));
  });
  afterAll(() => {
    proc?.kill();
  });

  it("serves the page; the gateway's endpoints answer 501 admin_unavailable", async () => {
    expect((await fetch(`${url}/`)).status).toBe(200);
    for (const p of ["/v1/gateway/pins", "/v1/gateway/upstreams", "/v1/gateway/decisions/stream"]) {
      const r = await fetch(`${url}${p}`);
      expect(r.status, p).toBe(501);
      expect(((await r.json()) as { code: string }).code).toBe("admin_unavailable");
    }
  });
});
