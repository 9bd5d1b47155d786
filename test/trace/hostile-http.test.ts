// An attacker getting a request past `http` URL rules (real `warden run`, real node, a real
// loopback sink, no strace). The agent read the request's URL apart from what Node reads, and
// let the request go on unjudged when its reading threw: a `path` getter that throws once, a URL
// subclass with its own `pathname` (the agent judged its href, Node sent its pathname) and a
// plain `{ href, protocol, pathname }` object (Node reads it as a URL, the agent judged "/") each
// reached a path the policy denies. Now the arguments are read once, Node is handed what was
// judged, and an unreadable request is refused (fail closed) and audited.
import { describe, expect, it } from "vitest";
import { expectSecretsBlocked, secretSinkApp } from "./_secret-sink.js";

const BODY = `
  const go = (name, f) => new Promise((done) => {
    let req;
    try { req = f(); } catch (e) { console.error(name, "threw", e.code, e.message); return done(); }
    req.on("response", (res) => { console.error(name, "status", res.statusCode); res.resume(); res.on("end", done); });
    req.on("error", (e) => { console.error(name, "error", e.code); done(); });
    req.end();
  });
  let thrown = false;
  await go("getter-once", () => http.request({ host: "127.0.0.1", port, get path() {
    if (!thrown) { thrown = true; throw new Error("once"); }
    return "/secret/a";
  } }));
  class U extends URL { get pathname() { return "/secret/b"; } }
  await go("url-subclass", () => http.request(new U(base + "/ok")));
  await go("url-like", () => http.request({ href: base + "/ok", protocol: "http:", hostname: "127.0.0.1", port, pathname: "/secret/c", search: "" }));
  await go("plain-string", () => http.get(base + "/secret/d"));
  await go("allowed", () => http.request(base + "/ok", { method: "GET" }));
  sink.close();
`;

describe("warden run: a Node request whose URL answers the agent one thing and Node another", () => {
  it("judges the URL Node sends and refuses one it cannot read", async () => {
    const { r, blocked } = await secretSinkApp("warden-hostile-http-", BODY);
    expect(r.stderr).toMatch(/^getter-once threw ECONNREFUSED .*Warden/m);
    for (const name of ["url-subclass", "url-like", "plain-string"])
      expect(r.stderr).toMatch(new RegExp(`^${name} error ECONNREFUSED$`, "m"));
    expect(r.stderr).toMatch(/^allowed status 200$/m);
    expect(r.stderr).toMatch(/^SINK GOT GET \/ok$/m);
    expect(blocked).toContain("(unreadable URL)");
    expectSecretsBlocked(r, blocked, ["/secret/b", "/secret/c", "/secret/d"]);
  }, 120_000);
});
