// An attacker getting a fetch past `http` URL rules (real `warden run`, real node, a real
// loopback sink, no strace). The agent judged `input.url` or a URL's `href` as it read them,
// then handed fetch the original input, which fetch reads its own way: an object whose
// toString names the URL (no `url` key: not judged at all), a URL subclass with its own `href`,
// a Request-like object whose `url` answers the agent and fetch differently, and a Request whose
// prototype's `url` getter was replaced each reached a path the policy denies. Now the agent makes the Request once and hands fetch that one.
import { describe, expect, it } from "vitest";
import { expectSecretsBlocked, secretSinkApp } from "./_secret-sink.js";

const BODY = `
  const go = async (name, f) => {
    try { const r = await f(); console.error(name, "status", r.status); await r.text(); }
    catch (e) { console.error(name, "error", e.cause?.code ?? e.name); }
  };
  await go("to-string", () => fetch({ toString: () => base + "/secret/a" }));
  class U extends URL { get href() { return base + "/ok"; } }
  await go("url-subclass", () => fetch(new U(base + "/secret/b")));
  let n = 0;
  await go("url-twice", () => fetch({ get url() { return n++ === 0 ? base + "/ok" : base + "/secret/c"; }, toString() { return this.url; } }));
  const R = globalThis.Request;
  await go("request-getter", () => {
    const req = new R(base + "/secret/d");
    Object.defineProperty(R.prototype, "url", { get() { return base + "/ok"; }, configurable: true });
    return fetch(req);
  });
  await go("allowed", () => fetch(base + "/ok"));
  sink.close();
`;

describe("warden run: a fetch whose URL answers the agent one thing and fetch another", () => {
  it("judges the Request fetch sends", async () => {
    const { r, blocked } = await secretSinkApp("warden-hostile-fetch-", BODY);
    for (const name of ["to-string", "url-subclass", "request-getter"])
      expect(r.stderr).toMatch(new RegExp(`^${name} error ECONNREFUSED$`, "m"));
    // the object read twice: judged and sent as the one URL the Request was made with (/ok)
    expect(r.stderr).toMatch(/^url-twice status 200$/m);
    expect(r.stderr).toMatch(/^allowed status 200$/m);
    expectSecretsBlocked(r, blocked, ["/secret/a", "/secret/b", "/secret/d"]);
  }, 120_000);
});
