// Is a forwarded request trusted for being forwarded? (docs/scale-out.md, "What a forwarded
// request is trusted with"). Two real gateways on one real redis-server, each with its own audit
// file, and a third process (this test, with fetch) forging what an instance sends: the hop
// header `warden-forwarded`, spoofed forwarding headers, a victim's session id, guessed ids.
// A forwarded request carries no authority of its own: the owner checks Host, Origin and the
// token again and serves a session only to the caller that opened it, so a forged forward gets
// exactly what the same request sent directly would get. Each test pins that.
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tempDir, until } from "../mcp/helpers.js";
import { postRaw } from "../mcp/http-raw.js";
import {
  initOn,
  jsonLines,
  type SessionCluster,
  type SessionInstance,
  sessionCluster,
} from "./_session-cluster.js";

const ALICE = `alice-${randomUUID()}`;
const BOB = `bob-${randomUUID()}`;
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
const call = (text: string) =>
  JSON.stringify({
    jsonrpc: "2.0",
    id: 9,
    method: "tools/call",
    params: { name: "echo", arguments: { text } },
  });

let cluster: SessionCluster;
let peek: Redis;
let owner: SessionInstance;
let other: SessionInstance;
let sid: string;

const lines = jsonLines;
/** tools/call lines of `echo` that reached the judgement on `inst` (allowed or denied by policy). */
const echoes = (inst: SessionInstance) =>
  lines(inst.audit).filter((l) => l.method === "tools/call" && l.name === "echo");

beforeAll(async () => {
  cluster = await sessionCluster("hf", { alice: ALICE, bob: BOB });
  peek = cluster.peek;
  const root = tempDir();
  owner = await cluster.start(join(root, "a"));
  other = await cluster.start(join(root, "b"));
  sid = await initOn(owner.url, bearer(ALICE));
  expect(owner.gw.http!.sessions.has(sid)).toBe(true);
}, 30_000);

afterAll(async () => {
  await Promise.all([owner?.gw.stop(), other?.gw.stop()]);
  await cluster?.close();
});

/** Headers a forger would add to pass for an instance's forward. */
const FORGED = {
  "warden-forwarded": "1",
  "x-forwarded-for": "127.0.0.1",
  "x-forwarded-host": "127.0.0.1",
  forwarded: "for=127.0.0.1;proto=http",
  "x-warden-instance": "http://127.0.0.1:1/mcp",
  "x-warden-owner": "1",
};

describe("forged forwards between instances", () => {
  it("straight to the owner, as an instance would send it, without a token: 401, nothing judged or run", async () => {
    const before = echoes(owner).length;
    for (const headers of [
      { ...FORGED, "mcp-session-id": sid },
      { ...FORGED, "mcp-session-id": sid, authorization: "Bearer " },
      { ...FORGED, "mcp-session-id": sid, authorization: `Bearer ${ALICE}x` },
      { ...FORGED, "mcp-session-id": sid, authorization: `Basic ${btoa(`alice:${ALICE}`)}` },
    ]) {
      const r = await postRaw(owner.url, call("hi"), headers);
      expect(r.status).toBe(401);
      await r.text();
    }
    // a sender that has not authenticated writes nothing to the audit (docs/audit.md)
    expect(echoes(owner).length).toBe(before);
    // the session is untouched
    const ok = await postRaw(owner.url, call("hi"), { ...bearer(ALICE), "mcp-session-id": sid });
    expect(((await ok.json()) as { result?: unknown }).result).toBeDefined();
  });

  it("straight to the owner with another caller's valid token and the victim's session id: 404, audited naming that caller, nothing run", async () => {
    const before = echoes(owner).length;
    const r = await postRaw(owner.url, call("stolen"), {
      ...FORGED,
      ...bearer(BOB),
      "mcp-session-id": sid,
    });
    expect(r.status).toBe(404);
    expect(((await r.json()) as { error: { data: unknown } }).error.data).toEqual({
      warden: "session_unknown",
    });
    await until(
      () =>
        lines(owner.audit).some(
          (l) =>
            l.code === "session_unknown" &&
            l.caller === "bob" &&
            l.decision === "deny" &&
            l.method === "tools/call",
        ),
      5000,
      "the owner's line for bob",
    );
    expect(echoes(owner).length).toBe(before);
    // through the other instance (a genuine forward): the same answer, from the owner
    const via = await postRaw(other.url, call("stolen"), { ...bearer(BOB), "mcp-session-id": sid });
    expect(via.status).toBe(404);
    await via.text();
    expect(echoes(owner).length).toBe(before);
    expect(echoes(other)).toEqual([]);
  });

  it("the hop header sent to an instance that does not hold the session: 404, audited there, the owner's record untouched and the session served", async () => {
    const rec = await peek.get(`hf:session:${sid}`);
    expect(JSON.parse(rec!).url).toBe(owner.url);
    const r = await postRaw(other.url, call("hi"), {
      ...FORGED,
      ...bearer(ALICE),
      "mcp-session-id": sid,
    });
    expect(r.status).toBe(404);
    await r.text();
    await until(
      () =>
        lines(other.audit).some(
          (l) => l.code === "session_unknown" && l.session === sid && l.caller === "alice",
        ),
      5000,
      "the line on the other instance",
    );
    expect(await peek.get(`hf:session:${sid}`)).toBe(rec);
    const ok = await postRaw(other.url, call("hi"), { ...bearer(ALICE), "mcp-session-id": sid });
    expect(((await ok.json()) as { result?: unknown }).result).toBeDefined();
  });

  it("guessed session ids, with and without the hop header, on both instances: 404 each, each audited, none reaches an upstream", async () => {
    const ownerBefore = echoes(owner).length;
    const otherBefore = echoes(other).length;
    const guesses: string[] = Array.from({ length: 40 }, () => randomUUID());
    // the victim's id with one character changed
    guesses.push(`${sid.slice(0, -1)}${sid.endsWith("0") ? "1" : "0"}`);
    for (const g of guesses)
      for (const inst of [owner, other])
        for (const hop of [{}, { "warden-forwarded": "1" }] as Record<string, string>[]) {
          const r = await postRaw(inst.url, call("guess"), {
            ...hop,
            ...bearer(BOB),
            "mcp-session-id": g,
          });
          expect(r.status).toBe(404);
          await r.text();
        }
    await until(
      () =>
        [owner, other].every(
          (inst) =>
            lines(inst.audit).filter((l) => l.code === "session_unknown" && l.caller === "bob")
              .length >=
            guesses.length * 2,
        ),
      10_000,
      "a line for each guess",
    );
    expect(echoes(owner).length).toBe(ownerBefore);
    expect(echoes(other).length).toBe(otherBefore);
  });
});
