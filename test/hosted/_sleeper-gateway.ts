/**
 * The WAT component peeksleeper (one judged host call, get-environment, then an hour's sleep)
 * as the upstream `slow` of an in-process gateway over Streamable HTTP, under a policy that
 * allows every tool and gives a call 2 s; and the audit lines that gateway wrote (each checked
 * against docs/audit.schema.json), the host_call lines of one call among them.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { componentServers } from "../../src/mcp/component-upstream.js";
import type { Gateway } from "../../src/mcp/gateway.js";
import { type AuditLine, auditLines } from "../mcp/audit-schema.js";
import { startGateway, tempDir } from "../mcp/helpers.js";
import { nextHostCall } from "./_hosted.js";
import { CACHE, watComponent } from "./build.js";

export type Line = AuditLine & { host?: Record<string, unknown> };

/** The lines of `dir`'s audit.jsonl (none while it does not exist). */
export const auditOf = (dir: string): Line[] => auditLines(join(dir, "audit.jsonl")) as Line[];

/** The host_call lines of `dir`'s audit audited under the call `callId`. */
export const hostCallsIn = (dir: string, callId: unknown): Line[] =>
  auditOf(dir).filter((l) => l.kind === "host_call" && l.call_id === callId);

/**
 * Start the gateway in a new temp dir. `policy`: more policy sections (YAML lines ending in a
 * newline); `upstream`: more keys of the `slow` upstream (lines indented by four spaces).
 */
export async function sleeperGateway(
  opts: { policy?: string; upstream?: string } = {},
): Promise<{ gw: Gateway; url: string; dir: string }> {
  const comp = await watComponent("peeksleeper");
  const dir = tempDir();
  writeFileSync(
    join(dir, "policy.yaml"),
    `version: "1.0"\nmcp:\n  transport: { http: true, stdio: true }\n  tools:\n    allow: ["*"]\n${opts.policy ?? ""}resources:\n  limits:\n    execution_time: 2s\n`,
  );
  writeFileSync(
    join(dir, "warden.yaml"),
    `listen: { http: { port: 0 } }\npolicy: ./policy.yaml\naudit: { file: ./audit.jsonl }\nupstreams:\n  - name: slow\n    component: ${JSON.stringify(comp)}\n${opts.upstream ?? ""}`,
  );
  process.env.WARDEN_CACHE_DIR = CACHE;
  const { gw, url } = await startGateway(join(dir, "warden.yaml"));
  return { gw, url, dir };
}

/**
 * Resolves once the next call of a loaded `slow` upstream has made its host call (get-environment)
 * and so sleeps: call it before the call (the upstream's component server is loaded by a first
 * call).
 */
export async function slowSleeping(): Promise<void> {
  const servers = await Promise.all(
    componentServers()
      .filter((s) => s.cfg.name === "slow")
      .map((s) => s.server),
  );
  if (servers.length === 0) throw new Error("no component server of the upstream slow is loaded");
  await Promise.race(servers.map(nextHostCall));
}
