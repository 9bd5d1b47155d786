// Who may use the HTTP front, and how much (issue 18, points 1b, 2 and 4): named bearer tokens
// (the caller is the token's name), sessions bound to their token, HTTPS, the refusal to listen
// beyond loopback unprotected, and bounded sessions (in all, per token, per upstream process).
import { execFileSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../src/mcp/config.js";
import type { HttpListenConfig } from "../../src/mcp/config-types.js";
import type { Gateway } from "../../src/mcp/gateway.js";
import { type FrontSession, HttpFront } from "../../src/mcp/http-front.js";
import type { Message } from "../../src/mcp/jsonrpc.js";
import type { Downstream } from "../../src/mcp/session-core.js";
import { startGateway, stdioUpstream, tempDir, until, writeGatewayFiles } from "./helpers.js";
import { INIT, LOOPBACK_LISTEN as LISTEN, postRaw as post } from "./http-raw.js";

const LIST = JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/list", params: {} });

describe("named tokens over HTTP", () => {
  let gw: Gateway;
  let url: string;
  beforeAll(async () => {
    process.env.WARDEN_T_ALICE = "alice-secret";
    process.env.WARDEN_T_BOB = "bob-secret";
    const policy = `version: "1.0"\nmcp:\n  transport: { http: true, stdio: true }\n  tools: { allow: ["*"] }\n`;
    const cfg = writeGatewayFiles(
      tempDir(),
      `listen: { http: { port: 0 } }\nauth:\n  tokens:\n    - { name: alice, env: WARDEN_T_ALICE }\n    - { name: bob, env: WARDEN_T_BOB }\npolicy: ./policy.yaml\nupstreams:\n${stdioUpstream("fx")}`,
      policy,
    );
    ({ gw, url } = await startGateway(cfg));
  });
  afterAll(async () => {
    await gw?.stop();
  });

  it("takes each token; the caller is the token's name; a wrong one gets 401", async () => {
    const a = await post(url, INIT, { authorization: "Bearer alice-secret" });
    expect(a.status).toBe(200);
    const b = await post(url, INIT, { authorization: "Bearer bob-secret" });
    expect(b.status).toBe(200);
    const callers = [...gw.sessions].map((s) => s.caller).sort();
    expect(callers).toEqual(["alice", "bob"]);
    for (const wrong of ["Bearer alice-secretx", "Bearer ", "alice-secret", ""]) {
      const r = await post(url, INIT, wrong === "" ? {} : { authorization: wrong });
      expect(r.status).toBe(401);
      expect(r.headers.get("www-authenticate")).toMatch(/Bearer/);
    }
  });

  it("does not let one token use another token's session", async () => {
    const a = await post(url, INIT, { authorization: "Bearer alice-secret" });
    const sid = a.headers.get("mcp-session-id")!;
    const asBob = await post(url, LIST, {
      authorization: "Bearer bob-secret",
      "mcp-session-id": sid,
    });
    expect(asBob.status).toBe(404);
    const asAlice = await post(url, LIST, {
      authorization: "Bearer alice-secret",
      "mcp-session-id": sid,
      "mcp-protocol-version": "2025-06-18",
    });
    expect(asAlice.status).toBe(200);
  });
});

describe("the listen and auth config", () => {
  const parse = (text: string) =>
    parseConfig(`${text}policy: p.yaml\nupstreams: [{ name: a, command: x }]\n`, "/tmp/w.yaml");
  const errors = (text: string) => {
    const r = parse(text);
    return r.ok ? [] : r.errors.map((e) => `${e.code} ${e.key}: ${e.message}`);
  };

  it("refuses to listen beyond loopback without TLS or without tokens, unless allow_insecure", () => {
    expect(errors("listen: { http: { host: 0.0.0.0 } }\n")).toEqual([
      expect.stringMatching(
        /^insecure_listen listen\.http\.host: .*0\.0\.0\.0 .*without TLS \(listen\.http\.tls\) and tokens \(auth\.tokens\).*allow_insecure: true/,
      ),
    ]);
    const tokens = "auth: { tokens: [{ name: a, env: A }] }\n";
    expect(errors(`listen: { http: { host: 10.1.2.3 } }\n${tokens}`)).toEqual([
      expect.stringMatching(/without TLS \(listen\.http\.tls\):/),
    ]);
    expect(
      errors("listen: { http: { host: 0.0.0.0, tls: { cert: c.pem, key: k.pem } } }\n"),
    ).toEqual([expect.stringMatching(/without tokens \(auth\.tokens\):/)]);
    expect(
      errors(`listen: { http: { host: 0.0.0.0, tls: { cert: c.pem, key: k.pem } } }\n${tokens}`),
    ).toEqual([]);
    expect(errors("listen: { http: { host: 0.0.0.0, allow_insecure: true } }\n")).toEqual([]);
    expect(errors("listen: { http: { host: 127.0.0.2 } }\n")).toEqual([]);
    expect(errors("listen: { http: { host: localhost } }\n")).toEqual([]);
  });

  it("reads bearer_env as a token named default, and refuses it next to auth.tokens", () => {
    const r = parse("listen: { http: { bearer_env: T } }\n");
    expect(r.ok && r.config.auth).toEqual({ tokens: [{ name: "default", env: "T" }] });
    expect(
      errors("listen: { http: { bearer_env: T } }\nauth: { tokens: [{ name: a, env: A }] }\n"),
    ).toEqual([expect.stringMatching(/^conflicting_keys listen\.http\.bearer_env: /)]);
    expect(errors("auth: { tokens: [{ name: a, env: A }, { name: a, env: B }] }\n")).toEqual([
      expect.stringMatching(/^duplicate_name auth\.tokens\[1\]\.name/),
    ]);
  });

  it("resolves TLS files against the config file's folder", () => {
    const r = parse("listen: { http: { tls: { cert: c.pem, key: /k/k.pem } } }\n");
    expect(r.ok && (r.config.listen as HttpListenConfig).tls).toEqual({
      cert: "/tmp/c.pem",
      key: "/k/k.pem",
    });
  });
});

/** Answers initialize. */
class Echo implements FrontSession {
  constructor(readonly down: Downstream) {}
  receive(m: Message): void {
    if ("method" in m && "id" in m)
      this.down.send({ jsonrpc: "2.0", id: m.id, result: { caller: this.down.caller } }, m.id);
  }
  async close(): Promise<void> {}
}

describe("HTTPS (listen.http.tls)", () => {
  const dir = tempDir();
  const cert = join(dir, "cert.pem");
  const key = join(dir, "key.pem");
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      key,
      "-out",
      cert,
      "-days",
      "1",
      "-subj",
      "/CN=localhost",
      "-addext",
      "subjectAltName=DNS:localhost,IP:127.0.0.1",
    ],
    { stdio: "ignore" },
  );

  it("serves MCP over TLS with the configured certificate", async () => {
    expect(existsSync(cert)).toBe(true);
    const front = new HttpFront({ ...LISTEN, tls: { cert, key } }, (d) => new Echo(d), undefined);
    const { port } = await front.listen();
    try {
      const text = await new Promise<string>((resolve, reject) => {
        const req = httpsRequest(
          {
            host: "127.0.0.1",
            port,
            path: "/mcp",
            method: "POST",
            ca: [execFileSync("cat", [cert])],
            headers: { "content-type": "application/json", accept: "application/json" },
          },
          (res) => {
            let t = "";
            res.on("data", (c) => {
              t += c;
            });
            res.on("end", () => resolve(t));
          },
        );
        req.on("error", reject);
        req.end(INIT);
      });
      expect(JSON.parse(text)).toMatchObject({ id: 1, result: { caller: "anonymous" } });
      // plain HTTP to the TLS port gets nothing
      await expect(post(`http://127.0.0.1:${port}/mcp`, INIT)).rejects.toThrow();
    } finally {
      await front.close();
    }
  });

  it("says which TLS file it cannot read", () => {
    writeFileSync(join(dir, "empty.pem"), "");
    expect(
      () =>
        new HttpFront(
          { ...LISTEN, tls: { cert: join(dir, "nope.pem"), key } },
          (d) => new Echo(d),
          undefined,
        ),
    ).toThrow(/listen\.http\.tls\.cert .*nope\.pem/);
  });
});

describe("bounded sessions", () => {
  it("refuses sessions past the limits with 503 and Retry-After, per token and in all", async () => {
    const front = new HttpFront(
      { ...LISTEN, limits: { sessions: 3, sessionsPerCaller: 2 } },
      (d) => new Echo(d),
      [
        { name: "a", secret: "sa" },
        { name: "b", secret: "sb" },
      ],
    );
    const url = `http://127.0.0.1:${(await front.listen()).port}/mcp`;
    try {
      const as = (t: string) => post(url, INIT, { authorization: `Bearer ${t}` });
      expect((await as("sa")).status).toBe(200);
      const a2 = await as("sa");
      expect(a2.status).toBe(200);
      const a3 = await as("sa");
      expect(a3.status).toBe(503);
      expect(a3.headers.get("retry-after")).toMatch(/^\d+$/);
      expect(((await a3.json()) as { error: { message: string } }).error.message).toMatch(
        /caller "a" .*max_sessions_per_token/,
      );
      expect((await as("sb")).status).toBe(200); // b has room: 3 sessions now
      const b2 = await as("sb");
      expect(b2.status).toBe(503);
      expect(((await b2.json()) as { error: { message: string } }).error.message).toMatch(
        /max_sessions/,
      );
      // ending one makes room
      const del = await fetch(url, {
        method: "DELETE",
        headers: {
          authorization: "Bearer sa",
          "mcp-session-id": a2.headers.get("mcp-session-id")!,
        },
      });
      expect(del.status).toBe(200);
      expect((await as("sb")).status).toBe(200);
    } finally {
      await front.close();
    }
  });

  it("a session flood (150 initialize, no DELETE) leaves at most max_processes upstream processes", async () => {
    const policy = `version: "1.0"\nmcp:\n  transport: { http: true, stdio: true }\n  tools: { allow: ["*"] }\n`;
    const cfg = writeGatewayFiles(
      tempDir(),
      `listen: { http: { port: 0 } }\npolicy: ./policy.yaml\nupstreams:\n${stdioUpstream("fx")}    max_processes: 3\n    max_processes_wait_ms: 0\n`,
      policy,
    );
    const { gw, url } = await startGateway(cfg);
    const children = () =>
      execFileSync("ps", ["-o", "pid=", "--ppid", String(process.pid)], { encoding: "utf8" })
        .split("\n")
        .filter((l) => l.trim() !== "").length;
    const before = children();
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 150; i++) {
        const r = await post(url, INIT);
        statuses.push(r.status);
        if (r.status === 503) expect(r.headers.get("retry-after")).toMatch(/^\d+$/);
        await r.arrayBuffer();
      }
      expect(statuses.filter((s) => s === 200)).toHaveLength(3);
      expect(statuses.filter((s) => s === 503)).toHaveLength(147);
      await until(() => gw.sessions.size === 3);
      expect(children() - before).toBeLessThanOrEqual(3);
    } finally {
      await gw.stop();
    }
  });
});
