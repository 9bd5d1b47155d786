// An attacker choosing the address behind an allowed name (real `warden run`, real node, a
// real loopback sink, no strace: the agent alone must hold). A `lookup` function in the connect
// options answers the address Node connects to after the agent judged the name: `net.connect`
// and `http.get` to `allowed.example` with a lookup answering 127.0.0.1 (denied) reached the
// sink. Now every address such a lookup answers (one, or the list `all: true` asks for) is
// judged as a connect to it, and a denied one fails as a refused connect, recorded as a block.

import type { AddressInfo } from "node:net";
import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { files, runWarden, tempDir } from "./helpers.js";
import { eventsOf } from "./python-helpers.js";

const APP = `
const net = require("net"), http = require("http");
const port = Number(process.argv[2]);
const fake = (h, o, cb) => (o && o.all ? cb(null, [{ address: "127.0.0.1", family: 4 }]) : cb(null, "127.0.0.1", 4));
const one = (name, make) => new Promise((done) => {
  const s = make();
  s.on("error", (e) => { console.error(name, "refused", e.code); done(); });
  s.on("connect", () => { console.error(name, "CONNECTED"); s.end("exfil " + name); done(); });
});
(async () => {
  await one("net", () => net.connect({ host: "allowed.example", port, lookup: fake }));
  await one("net-all", () => net.connect({ host: "allowed.example", port, autoSelectFamily: true, lookup: fake }));
  await new Promise((done) => {
    const r = http.get({ host: "allowed.example", port, path: "/", lookup: fake }, () => { console.error("http CONNECTED"); done(); });
    r.on("socket", (s) => s.on("connect", () => { console.error("http CONNECTED"); r.destroy(); done(); }));
    r.on("error", (e) => { if (e.code !== "ECONNRESET") console.error("http refused", e.code); done(); });
  });
})();
`;

describe("warden run: a lookup in the connect options that answers a denied address", () => {
  it("judges each address the program's lookup answers", async () => {
    const got: string[] = [];
    const sink = createServer((s) => s.on("data", (d) => got.push(String(d))));
    await new Promise<void>((r) => sink.listen(0, "127.0.0.1", r));
    const port = (sink.address() as AddressInfo).port;
    try {
      const root = tempDir("warden-hostile-lookup-");
      files(root, {
        "app.js": APP,
        "policy.yaml": [
          'version: "1.0"',
          "network:",
          "  deny:",
          "    - { host: 127.0.0.1 }",
          "  allow:",
          '    - { host: "allowed.example" }',
          "",
        ].join("\n"),
      });
      const r = await runWarden(
        [
          "run",
          "--json",
          "--no-strace",
          "--policy",
          "policy.yaml",
          "--",
          process.execPath,
          "app.js",
          String(port),
        ],
        { cwd: root },
      );
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).not.toContain("CONNECTED");
      for (const name of ["net", "net-all", "http"])
        expect(r.stderr).toMatch(new RegExp(`^${name} refused ECONNREFUSED$`, "m"));
      expect(got).toEqual([]);
      const { events } = eventsOf(r.stdout);
      const blocks = events.filter((e) => e.verdict === "block" && e.target === "127.0.0.1");
      expect(blocks.length).toBeGreaterThanOrEqual(3);
    } finally {
      sink.close();
    }
  }, 120_000);
});
