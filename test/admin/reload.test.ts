/**
 * The real `warden` (dist/cli/main.js): /v1/check and /v1/policy answer by the policy in force,
 * a changed policy file included (under `warden gateway` the gateway's hot reload, under
 * `warden admin` alone the admin's own watch), and `warden admin` runs a config without
 * `upstreams` (the API without a gateway).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { CLI } from "../cli/helpers.js";
import { FIXTURE_SERVER, httpClient } from "../mcp/helpers.js";
import { tempDir } from "./helpers.js";

const running: ChildProcess[] = [];
afterEach(() => {
  for (const c of running.splice(0)) if (c.exitCode === null) c.kill("SIGKILL");
});

function start(args: string[]): Promise<{ child: ChildProcess; url: string; mcp: string }> {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ["pipe", "ignore", "pipe"] });
  running.push(child);
  let err = "";
  return new Promise((res, rej) => {
    child.stderr!.on("data", (b: Buffer) => {
      err += b.toString();
      const m = /(?:admin: listening on|admin API on) (http:\/\/[^\s]+)/.exec(err);
      const gw = /gateway: listening on (http:\/\/[^\s]+)/.exec(err);
      if (m && (gw || args[0] === "admin")) res({ child, url: m[1]!, mcp: gw?.[1] ?? "" });
    });
    child.on("exit", (code) => rej(new Error(`warden exited ${code}: ${err}`)));
  });
}

const policy = (verb: "allow" | "deny") =>
  `version: "1.0"\ndescription: ${verb}s add\nmcp:\n  transport: { http: true, stdio: true }\n  tools:\n    ${verb}:\n      - name: "add"\n${verb === "allow" ? '      - name: "echo"\n' : ""}`;

async function check(url: string): Promise<{ decision: string; reason: string }> {
  const r = await fetch(`${url}/v1/check`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ action: { kind: "tool.call", name: "add" } }),
  });
  return (await r.json()) as { decision: string; reason: string };
}

/** Ask until the answer changes to `want` (the file watchers debounce); at most 200 tries. */
async function until(url: string, want: string): Promise<{ decision: string }> {
  let last = await check(url);
  for (let i = 0; i < 200 && last.decision !== want; i++) {
    await new Promise((r) => setTimeout(r, 50));
    last = await check(url);
  }
  return last;
}

async function policyDescription(url: string): Promise<string> {
  return ((await (await fetch(`${url}/v1/policy`)).json()) as { description: string }).description;
}

describe("/v1/check and /v1/policy follow the policy file", () => {
  it("warden gateway: a changed policy file is answered by /v1/check and /v1/policy; rule decisions are in /metrics", async () => {
    const dir = tempDir();
    const pol = join(dir, "policy.yaml");
    writeFileSync(pol, policy("allow"));
    writeFileSync(
      join(dir, "rules.yaml"),
      "rules:\n  - name: no-secrets\n    conditions: [ { field: payload.text, operator: contains, value: sec } ]\n    action: deny\n",
    );
    const cfg = join(dir, "warden.yaml");
    writeFileSync(
      cfg,
      `policy: ./policy.yaml\nrules: ./rules.yaml\nlisten: { http: { port: 0 } }\ntelemetry: { metrics: true }\nupstreams:\n  - { name: fx, command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(FIXTURE_SERVER)}] }\nadmin:\n  listen: { port: 0 }\n`,
    );
    const g = await start(["gateway", "--config", cfg]);
    // a rule's deny through the real gateway is counted by the rule's name
    const client = await httpClient(g.mcp);
    const err = await client
      .callTool({ name: "echo", arguments: { text: "a secret" } })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: -32003, data: { warden: "rule_denied" } });
    await client.callTool({ name: "echo", arguments: { text: "hi" } });
    await client.close();
    const metrics = await (await fetch(`${g.url}/metrics`)).text();
    expect(metrics).toMatch(
      /^warden_mcp_rule_decisions_total\{rule="no-secrets",decision="deny"\} 1$/m,
    );
    expect((await check(g.url)).decision).toBe("allow");
    expect(await policyDescription(g.url)).toBe("allows add");
    writeFileSync(pol, policy("deny"));
    expect((await until(g.url, "deny")).decision).toBe("deny");
    expect(await policyDescription(g.url)).toBe("denys add");
  }, 60_000);

  it("warden admin runs without upstreams and follows its policy file; a broken one is refused, the old one answers", async () => {
    const dir = tempDir();
    const pol = join(dir, "policy.yaml");
    writeFileSync(pol, policy("allow"));
    const cfg = join(dir, "warden.yaml");
    // no upstreams: the API without a gateway
    writeFileSync(cfg, `policy: ./policy.yaml\nadmin:\n  listen: { port: 0 }\n`);
    const a = await start(["admin", "--config", cfg]);
    expect((await check(a.url)).decision).toBe("allow");
    writeFileSync(pol, "version: 1.0\nmcp: [");
    writeFileSync(pol, policy("deny"));
    expect((await until(a.url, "deny")).decision).toBe("deny");
    expect(await policyDescription(a.url)).toBe("denys add");
    writeFileSync(pol, "mcp: { tools: { allow: [ { nme: x } ] } }\n");
    // the broken file is refused: still the deny
    await new Promise((r) => setTimeout(r, 400));
    expect((await check(a.url)).decision).toBe("deny");
  }, 60_000);
});
