// Network and environment under `warden run`: a denied host is refused before any connection
// (http.get, fetch, net.connect all fail as a refused connect, dns.lookup as an unknown name,
// the sink sees no connection at all), and a denied environment key reads as unset, also in a
// child's copy of the environment.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { files, runApp, tempDir } from "./helpers.js";

let sink: ReturnType<typeof createServer>;
let port = 0;
let connections = 0;
let requests = 0;

beforeAll(async () => {
  sink = createServer((req, res) => {
    requests++;
    req.resume();
    res.end("ok");
  });
  sink.on("connection", () => connections++);
  await new Promise<void>((r) => sink.listen(0, "127.0.0.1", () => r()));
  port = (sink.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((r) => sink.close(() => r())));

describe("warden run: network and environment", () => {
  it("refuses a denied host before connecting, and hides a denied environment key", async () => {
    const dir = tempDir();
    files(dir, {
      "policy.yaml": `version: "1.0"
network:
  deny:
    - { host: 127.0.0.1 }
    - { host: "*.blocked.example" }
  allow:
    - { host: localhost, ports: [1] }
environment:
  deny:
    - { key: SECRET_TOKEN }
  allow:
    - { key: "PUBLIC_*" }
`,
      "app.js": `
const http = require("http"), net = require("net"), dns = require("dns");
const url = "http://127.0.0.1:" + process.argv[2] + "/x";
const out = [];
const done = () => { if (out.length === 5) console.log(JSON.stringify(out.sort())); };
http.get(url, () => { out.push("http: CONNECTED"); done(); }).on("error", (e) => { out.push("http: " + e.code + " " + /Warden/.test(e.message)); done(); });
fetch(url).then(() => { out.push("fetch: CONNECTED"); done(); }, (e) => { out.push("fetch: " + e.name + " " + e.cause.code); done(); });
net.connect(Number(process.argv[2]), "127.0.0.1").on("connect", () => { out.push("net: CONNECTED"); done(); }).on("error", (e) => { out.push("net: " + e.code); done(); });
dns.lookup("x.blocked.example", (e) => { out.push("dns: " + (e && e.code)); done(); });
const env = [process.env.SECRET_TOKEN, "SECRET_TOKEN" in process.env, Object.keys(process.env).includes("SECRET_TOKEN"), process.env.PUBLIC_NAME];
const child = require("child_process").execFileSync(process.execPath, ["-e", "process.stdout.write(String(process.env.SECRET_TOKEN))"], { encoding: "utf8" });
out.push("env: " + JSON.stringify(env) + " child " + child); done();
`,
    });
    const r = await runApp(dir, {
      args: [String(port)],
      env: { SECRET_TOKEN: "hunter2", PUBLIC_NAME: "warden" },
    });
    expect(r.code, r.stderr).toBe(0);
    const printed = JSON.parse(r.stderr.split("\n").find((l) => l.startsWith("["))!) as string[];
    expect(printed).toEqual([
      "dns: ENOTFOUND",
      'env: [null,false,false,"warden"] child undefined',
      "fetch: TypeError ECONNREFUSED",
      "http: ECONNREFUSED true",
      "net: ECONNREFUSED",
    ]);
    expect(connections).toBe(0);
    expect(requests).toBe(0);
    const events = r.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const blocked = events.filter((e) => e.verdict === "block").map((e) => e.function);
    expect(blocked).toEqual(
      expect.arrayContaining([
        "js:http.get",
        "js:fetch",
        "js:net.connect",
        "js:dns.lookup",
        "js:process.env",
      ]),
    );
    const envEvents = events.filter((e) => e.function === "js:process.env");
    // Only keys a rule names are reported: SECRET_TOKEN (denied) and PUBLIC_NAME (allowed).
    expect(new Set(envEvents.map((e) => e.target))).toEqual(
      new Set(["SECRET_TOKEN", "PUBLIC_NAME"]),
    );
  }, 120_000);
});
