import { makeCall } from "../../core/call.js";
import { Chain } from "../../core/chain.js";

/** The core part of `warden demo`: a chain judging a few calls. */
export async function runCoreDemo(opts: { json: boolean }): Promise<void> {
  const chain = new Chain("demo", [
    {
      name: "no-delete",
      beforeCall: (c) =>
        c.function === "delete"
          ? { verdict: "block", reason: "deletes are not allowed", by: "no-delete" }
          : undefined,
    },
  ]);
  const calls = [makeCall("agent", "files", "read"), makeCall("agent", "files", "delete")];
  const out = calls.map((c) => ({
    call: `${c.source} -> ${c.target}.${c.function}`,
    decision: chain.before(c),
  }));
  if (opts.json) process.stdout.write(`${JSON.stringify(out)}\n`);
  else
    for (const o of out)
      process.stdout.write(`${o.decision.verdict.padEnd(6)} ${o.call}  (${o.decision.reason})\n`);
}
