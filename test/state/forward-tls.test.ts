// TLS between gateway instances (docs/scale-out.md, "TLS between instances"): real `warden
// gateway` processes serving HTTPS with certificates of a CA made in the test by the openssl
// commands the docs show, one real redis-server. An instance with state.sessions.tls.ca forwards
// to an owner whose certificate chains to that CA; an owner with a certificate of another CA, or
// one that does not name the instance URL's host, is refused (502 session_forward_untrusted),
// audited naming it, and gets nothing. Without tls.ca, Node's trust store decides
// (NODE_EXTRA_CA_CERTS, as for https upstreams).
import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Agent, fetch as undiciFetch } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stdioUpstream, tempDir, until, writeGatewayFiles } from "../mcp/helpers.js";
import { INIT } from "../mcp/http-raw.js";
import { type Instance, startInstance } from "./instances.js";
import { RedisServer } from "./redis-server.js";

const TOKEN = `alice-${randomUUID()}`;
let root: string;
let redis: RedisServer;
let client: Agent;
const started: Instance[] = [];
const ssl = (...args: string[]) => execFileSync("openssl", args, { cwd: root, stdio: "ignore" });

/** A CA as docs/scale-out.md makes it: `<name>.pem` and `<name>.key`. */
function makeCa(name: string): string {
  ssl(
    ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"],
    ...["-days", "1", "-keyout", `${name}.key`, "-out", `${name}.pem`, "-subj", `/CN=${name}`],
  );
  return join(root, `${name}.pem`);
}

/** A certificate for `san` signed by `ca`, as the docs show: `<name>.pem`, `<name>.key`. */
function makeCert(ca: string, name: string, san: string): { cert: string; key: string } {
  ssl(
    ...["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"],
    ...["-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${name}`],
  );
  writeFileSync(join(root, `${name}.ext`), `subjectAltName=${san}\n`);
  ssl(
    ...["x509", "-req", "-in", `${name}.csr`, "-CA", `${ca}.pem`, "-CAkey", `${ca}.key`],
    ...["-CAcreateserial", "-days", "1", "-extfile", `${name}.ext`, "-out", `${name}.pem`],
  );
  return { cert: join(root, `${name}.pem`), key: join(root, `${name}.key`) };
}

/** A gateway serving HTTPS with `tls`, trusting `ca` for the owners it forwards to. */
async function instance(
  name: string,
  tls: { cert: string; key: string } | undefined,
  ca: string | undefined,
  env: NodeJS.ProcessEnv = {},
): Promise<Instance & { audit: string }> {
  const dir = join(root, name);
  mkdirSync(dir);
  const file = writeGatewayFiles(
    dir,
    `listen: { http: { host: 127.0.0.1, port: 0, path: /mcp${tls === undefined ? "" : `, tls: { cert: ${tls.cert}, key: ${tls.key} }`} } }
auth: { tokens: [{ name: alice, env: T_ALICE }] }
policy: ./policy.yaml
audit: { file: ./audit.jsonl }
state:
  dir: ${dir}/state
  redis: { url: "${redis.url}" }
  sessions: { secret_env: T_SECRET${ca === undefined ? "" : `, tls: { ca: ${ca} }`} }
upstreams:
${stdioUpstream("fx")}`,
  );
  const i = await startInstance(file, { ...process.env, ...SHARED, ...env });
  started.push(i);
  return Object.assign(i, { audit: join(dir, "audit.jsonl") });
}
const SHARED = { T_ALICE: TOKEN, T_SECRET: randomUUID() + randomUUID() };

/** POST `body` to `url` over HTTPS, the client trusting both CAs of the test. */
async function post(url: string, body: string, session?: string) {
  const r = await undiciFetch(url, {
    method: "POST",
    dispatcher: client,
    headers: {
      authorization: `Bearer ${TOKEN}`,
      "content-type": "application/json",
      accept: "application/json",
      ...(session === undefined ? {} : { "mcp-session-id": session }),
    },
    body,
  });
  return { status: r.status, session: r.headers.get("mcp-session-id"), text: await r.text() };
}

async function openOn(i: Instance): Promise<string> {
  const r = await post(i.url, INIT);
  expect(r.status, r.text).toBe(200);
  const id = r.session!;
  await post(i.url, JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }), id);
  return id;
}

const echo = (text: string) =>
  JSON.stringify({
    jsonrpc: "2.0",
    id: 7,
    method: "tools/call",
    params: { name: "echo", arguments: { text } },
  });

type Line = { code?: string; reason?: string; method?: string };
const lines = (file: string): Line[] =>
  existsSync(file)
    ? readFileSync(file, "utf8")
        .split("\n")
        .filter((l) => l !== "")
        .map((l) => JSON.parse(l) as Line)
    : [];

let owner: Instance & { audit: string };
let forwarder: Instance & { audit: string };
let rogue: Instance & { audit: string };
let misnamed: Instance & { audit: string };
let storeTrusting: Instance & { audit: string };
let plain: Instance & { audit: string };

beforeAll(async () => {
  root = tempDir();
  redis = await RedisServer.start();
  const ca = makeCa("instances-ca");
  const other = makeCa("other-ca");
  // the test's own client trusts both CAs and reaches "misnamed" by its address (it is not what
  // is tested: the instances' forwarding is)
  client = new Agent({
    connect: { ca: [readFileSync(ca), readFileSync(other)], checkServerIdentity: () => undefined },
  });
  [owner, forwarder, rogue, misnamed, storeTrusting, plain] = await Promise.all([
    instance("owner", makeCert("instances-ca", "a", "IP:127.0.0.1"), ca),
    instance("forwarder", makeCert("instances-ca", "b", "IP:127.0.0.1"), ca),
    // an instance of the deployment (it has the secret) with a certificate of another CA
    instance("rogue", makeCert("other-ca", "c", "IP:127.0.0.1"), ca),
    // a certificate of the right CA that names another host than the instance URL's
    instance("misnamed", makeCert("instances-ca", "d", "DNS:warden.invalid"), ca),
    // no tls.ca: Node's trust store, with the CA added as for any https peer
    instance("store", makeCert("instances-ca", "e", "IP:127.0.0.1"), undefined, {
      NODE_EXTRA_CA_CERTS: ca,
    }),
    // an instance of the deployment without TLS (and without tls.ca: with it, it cannot start)
    instance("plain", undefined, undefined),
  ]);
}, 60_000);

afterAll(async () => {
  await Promise.all(started.map((i) => i.stop()));
  await client?.close();
  await redis?.close();
});

describe("forwarding between instances over TLS (state.sessions.tls.ca)", () => {
  it("instances advertise https and forward to an owner whose certificate chains to tls.ca", async () => {
    expect(owner.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/mcp$/);
    const sid = await openOn(owner);
    const r = await post(forwarder.url, echo("over tls"), sid);
    expect(r.status, r.text).toBe(200);
    expect(r.text).toContain("over tls");
  });

  it("without tls.ca, Node's trust store decides: the CA in NODE_EXTRA_CA_CERTS is trusted", async () => {
    const sid = await openOn(owner);
    const r = await post(storeTrusting.url, echo("store"), sid);
    expect(r.status, r.text).toBe(200);
    expect(r.text).toContain("store");
  });

  it("hostile: an owner with a certificate of another CA gets nothing; 502 session_forward_untrusted, audited naming it", async () => {
    const sid = await openOn(rogue);
    const r = await post(forwarder.url, echo("secret"), sid);
    expect(r.status).toBe(502);
    const body = JSON.parse(r.text) as { error: { message: string; data: unknown } };
    expect(body.error.data).toEqual({ warden: "session_forward_untrusted" });
    expect(body.error.message).toContain(rogue.url);
    expect(body.error.message).toContain("state.sessions.tls.ca");
    await until(
      () => lines(forwarder.audit).some((l) => l.code === "session_forward_untrusted"),
      5000,
      "the audit line",
    );
    const line = lines(forwarder.audit).find((l) => l.code === "session_forward_untrusted")!;
    expect(line.method).toBe("tools/call");
    expect(line.reason).toContain(rogue.url);
    // the call never reached the rogue instance (it would have judged and audited it)
    expect(lines(rogue.audit).filter((l) => l.method === "tools/call")).toEqual([]);
    // and the forwarder does not fall back to trusting it on the next request
    expect((await post(forwarder.url, echo("again"), sid)).status).toBe(502);
  });

  it("hostile: a certificate of the right CA that does not name the owner's host is refused", async () => {
    const sid = await openOn(misnamed);
    const r = await post(forwarder.url, echo("x"), sid);
    expect(r.status).toBe(502);
    expect(r.text).toMatch(/session_forward_untrusted/);
    expect(r.text).toMatch(/ERR_TLS_CERT_ALTNAME_INVALID/);
    expect(lines(misnamed.audit).filter((l) => l.method === "tools/call")).toEqual([]);
  });

  it("hostile: with tls.ca, an owner advertising http gets nothing (no clear text between instances)", async () => {
    expect(plain.url).toMatch(/^http:\/\//);
    const sid = await openOn(plain);
    const r = await post(forwarder.url, echo("in clear"), sid);
    expect(r.status).toBe(502);
    expect(r.text).toMatch(/session_forward_untrusted/);
    expect(r.text).toContain(plain.url);
    await until(
      () => lines(forwarder.audit).some((l) => l.reason?.includes(plain.url) === true),
      5000,
      "the audit line",
    );
    expect(lines(plain.audit).filter((l) => l.method === "tools/call")).toEqual([]);
  });

  it("an instance with tls.ca that would advertise http does not start, saying what to give", async () => {
    await expect(
      instance("http-with-ca", undefined, join(root, "instances-ca.pem")),
    ).rejects.toThrow(
      /state\.sessions\.tls\.ca is set .*advertises http:\/\/127\.0\.0\.1:0\/mcp.*listen\.http\.tls/,
    );
  });

  it("a tls.ca that cannot be read or holds no certificate stops the start, naming the key and file", async () => {
    const notPem = join(root, "not-a-ca.pem");
    writeFileSync(notPem, "hello\n");
    for (const [ca, why] of [
      [join(root, "missing.pem"), /cannot be read \(ENOENT\)/],
      [notPem, /holds no PEM certificate/],
    ] as const)
      await expect(
        instance(
          `bad-${randomUUID().slice(0, 8)}`,
          { cert: join(root, "a.pem"), key: join(root, "a.key") },
          ca,
        ),
      ).rejects.toThrow(new RegExp(`state\\.sessions\\.tls\\.ca names ${ca}, which ${why.source}`));
  });
});
