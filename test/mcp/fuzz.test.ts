// Fuzz (issue 18): random and mutated JSON-RPC thrown at both sides of the gateway at once, a raw
// stdio client and a hostile upstream (hostile-server.mjs with HOSTILE_FUZZ_SEED), for a fixed
// budget: WARDEN_FUZZ_MS (default 3000 ms in CI; raise it for longer runs on demand) and
// WARDEN_FUZZ_SEED to repeat a run. The gateway must never exit, must still answer a plain call
// afterwards, and the upstream must never receive a tools/call the policy denies (it allows
// only `echo`; the policy itself judges what the upstream received).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadPolicyFileSync } from "../../src/policy/io.js";
import { generator, rng } from "./fixtures/fuzz-gen.mjs";
import { tempDir, writeGatewayFiles } from "./helpers.js";
import { hostileUpstream, RawGateway } from "./raw-gateway.js";

const BUDGET_MS = Number(process.env.WARDEN_FUZZ_MS ?? 3000);
const SEED = Number(process.env.WARDEN_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));

describe(`fuzz both sides of the gateway (seed ${SEED}, ${BUDGET_MS} ms)`, () => {
  it("never exits and never forwards a denied call", async () => {
    const dir = tempDir();
    const log = join(dir, "upstream-calls.jsonl");
    const cfg = writeGatewayFiles(
      dir,
      `listen: stdio\npolicy: ./policy.yaml\nupstreams:\n${hostileUpstream("h", `    request_timeout_ms: 3000\n    env: { HOSTILE_LOG: ${JSON.stringify(log)}, HOSTILE_FUZZ_SEED: "${SEED + 1}" }\n`)}`,
      `version: "1.0"\nmcp:\n  transport: { stdio: true }\n  tools: { allow: ["echo"] }\n`,
    );
    const gw = new RawGateway(cfg);
    try {
      const init = await gw.initialize({ roots: {} });
      expect(init.result, `${JSON.stringify(init)}\n${gw.stderr}`).toBeDefined();
      const g = generator(rng(SEED));
      const end = Date.now() + BUDGET_MS;
      let sent = 0;
      while (Date.now() < end) {
        // answer what the gateway asked (roots/list, sampling, ...) wrongly, sometimes
        const asked = gw.messages.filter((m) => typeof m.method === "string" && m.id !== undefined);
        for (let i = 0; i < 20; i++) {
          const q = asked.length > 0 && g.int(2) === 0 ? g.pick(asked) : undefined;
          gw.write(`${g.line(q?.id, q?.method)}\n`);
          sent++;
        }
        // and plain calls, allowed and denied, with and without an id
        const name = g.pick(["echo", "secret", "echo", "shell"]);
        const call: Record<string, unknown> = {
          jsonrpc: "2.0",
          method: "tools/call",
          params: { name, arguments: { text: "t" } },
        };
        if (g.int(3) > 0) call.id = `c${sent}`;
        gw.send(call);
        await new Promise((r) => setTimeout(r, 10));
        expect(gw.exit, `the gateway exited; seed ${SEED}; stderr:\n${gw.stderr}`).toBeUndefined();
      }
      const last = await gw.call("after-fuzz", "echo", { text: "still here" });
      expect(last.result ?? last.error, `seed ${SEED}`).toBeDefined();
      expect(gw.exit, `seed ${SEED}`).toBeUndefined();
      let calls: { params?: { name?: unknown } }[] = [];
      try {
        calls = readFileSync(log, "utf8")
          .split("\n")
          .filter((l) => l !== "")
          .map((l) => JSON.parse(l));
      } catch {}
      // the oracle is the policy itself: each call the upstream got must be one it allows
      const p = loadPolicyFileSync(join(dir, "policy.yaml"));
      if (!p.ok) throw new Error("policy");
      const denied = calls.filter(
        (c) =>
          typeof c.params?.name !== "string" ||
          !p.policy.check({
            kind: "tool.call",
            name: c.params.name,
            arguments: (c.params as { arguments?: Record<string, unknown> }).arguments ?? {},
            caller: "stdio",
          }).allowed,
      );
      expect(denied, `seed ${SEED}: the upstream received calls the policy denies`).toEqual([]);
      expect(sent).toBeGreaterThan(100);
      if (process.env.FUZZ_DEBUG)
        console.log(
          JSON.stringify(
            {
              sent,
              calls: calls.length,
              got: gw.messages.length,
              methods: [...new Set(gw.messages.map((m) => m.method))],
              errs: gw.stderr.split("\n").slice(0, 30),
            },
            null,
            1,
          ),
        );
    } finally {
      await gw.close();
    }
  });
});
