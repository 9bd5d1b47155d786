// Bounded resources over stdio (issue 18, 4): a line past the limit is dropped, not buffered
// (linear reading: each byte scanned once), and its sender gets an error with its id; an
// upstream's line past max_answer_bytes ends its call with an error; a client that does not read
// is dropped once 8 MiB wait for it. The gateway's peak RSS (VmHWM of the child) stays bounded.
import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { tempDir, writeGatewayFiles } from "./helpers.js";
import { hostileUpstream, RawGateway } from "./raw-gateway.js";

const POLICY = `version: "1.0"\nmcp:\n  transport: { stdio: true }\n  tools: { allow: ["*"] }\n`;
const MiB = 1024 * 1024;

/** The peak resident set of a live process, in MiB (Linux). */
function peakMiB(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(m?.[1] ?? 0) / 1024;
}

function gateway(extra = ""): RawGateway {
  return new RawGateway(
    writeGatewayFiles(
      tempDir(),
      `listen: stdio\npolicy: ./policy.yaml\n${extra}upstreams:\n${hostileUpstream("h")}`,
      POLICY,
    ),
  );
}

describe("stdio message and queue limits", () => {
  let gw: RawGateway | undefined;
  afterEach(async () => {
    await gw?.close();
    gw = undefined;
  });

  it("drops a 30 MB client line with an error to its id and answers the next call", async () => {
    gw = gateway();
    await gw.initialize();
    const pad = "x".repeat(MiB);
    gw.write('{"method":"tools/call","params":{"name":"echo","arguments":{"text":"');
    for (let i = 0; i < 30; i++) gw.write(pad);
    gw.write('"}},"jsonrpc":"2.0","id":41}\n');
    const a = await gw.answer(41, 120_000);
    expect(a.error).toMatchObject({ code: -32600, data: { warden: "message_too_large" } });
    expect(String((a.error as { message: string }).message)).toMatch(
      /more than the 4194304 allowed \(limits\.client_message_bytes/,
    );
    const b = await gw.call(42, "echo", { text: "next" });
    expect(b.result).toEqual({ content: [{ type: "text", text: "next" }] });
    expect(gw.stderr).toMatch(
      /the client sent a message of \d+ bytes, more than the 4194304 allowed/,
    );
    expect(peakMiB(gw.child.pid!)).toBeLessThan(200);
  });

  it("ends a call whose 20 MB answer is past max_answer_bytes with an error naming the upstream", async () => {
    gw = gateway();
    await gw.initialize();
    const a = await gw.call(1, "huge", { mb: 20 }, 120_000);
    expect(a.error).toMatchObject({
      code: -32603,
      data: { warden: "message_too_large", upstream: "h" },
    });
    expect(String((a.error as { message: string }).message)).toMatch(
      /more than the 16777216 allowed \(upstreams\[\]\.max_answer_bytes/,
    );
    expect((await gw.call(2, "echo", { text: "next" })).result).toBeDefined();
    expect(peakMiB(gw.child.pid!)).toBeLessThan(200);
  });

  it("drops a client that does not read once 8 MiB are queued for it", async () => {
    gw = gateway();
    await gw.initialize();
    gw.child.stdout!.pause();
    gw.call(1, "flood", { mb: 64 }).catch(() => {});
    let peak = 0;
    const pid = gw.child.pid!;
    const sample = setInterval(() => {
      try {
        peak = Math.max(peak, peakMiB(pid));
      } catch {}
    }, 50);
    await gw.until(() => gw!.exit !== undefined, "the gateway to drop its client", 120_000);
    clearInterval(sample);
    expect(gw.stderr).toMatch(
      /the client is not reading: more than 8388608 bytes are queued towards it \(limits\.client_queue_bytes in warden\.yaml\); dropped/,
    );
    expect(gw.exit).toEqual({ code: 0, signal: null });
    expect(peak).toBeLessThan(250);
  });
});
