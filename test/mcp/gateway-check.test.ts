// `warden gateway --check` finds what cannot work, every problem at once, one per line (issue
// 18, 3): misspelt config keys with "did you mean", policy errors in the same round as config
// errors, upstream commands that do not exist or are not executable, a guard module that is
// missing, a policy that refuses the listen transport or an upstream's transport.
import { spawnSync } from "node:child_process";
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CLI, tempDir } from "./helpers.js";

function check(
  dir: string,
  config: string,
  policy: string,
): { status: number | null; lines: string[]; stdout: string } {
  writeFileSync(join(dir, "policy.yaml"), policy);
  const file = join(dir, "warden.yaml");
  writeFileSync(file, config);
  const r = spawnSync(process.execPath, [CLI, "gateway", "--config", file, "--check"], {
    encoding: "utf8",
    timeout: 30_000,
  });
  return { status: r.status, lines: r.stderr.split("\n").filter(Boolean), stdout: r.stdout };
}

describe("warden gateway --check", () => {
  it("reports config and policy errors in one round, misspelt keys with did you mean", () => {
    const dir = tempDir();
    const r = check(
      dir,
      "listen: stdio\npolicy: ./policy.yaml\nauditt: { file: a.jsonl }\nupstreams:\n  - name: fx\n    command: node\n    argz: []\n  - name: gone\n    command: /nonexistent/mcp-server\n",
      'version: "1.0"\nmcp:\n  transport: { stdio: true }\n  tools:\n    allow: [{ nme: "x" }]\n',
    );
    expect(r.status).toBe(2);
    expect(r.lines[0]).toBe("warden gateway --check: 5 problem(s):");
    expect(r.lines.slice(1)).toEqual([
      expect.stringMatching(
        /warden\.yaml:3:1 auditt: unknown key "auditt" in warden\.yaml \(did you mean "audit"\?\)/,
      ),
      expect.stringMatching(
        /warden\.yaml:7:5 upstreams\[0\]\.argz: unknown key "argz" in upstreams\[0\] \(a command upstream\) \(did you mean "args"\?\)/,
      ),
      expect.stringMatching(/policy\.yaml:5:\d+ mcp\.tools\.allow\[0\]: .*needs the key "name"/),
      expect.stringMatching(
        /policy\.yaml:5:\d+ mcp\.tools\.allow\[0\]\.nme: unknown key "nme" .*\(did you mean "name"\?\)/,
      ),
      // The upstream commands are checked even though the config has errors.
      expect.stringMatching(
        /warden\.yaml: upstreams\[1\]\.command: upstream "gone" cannot be started: its command "\/nonexistent\/mcp-server" does not exist/,
      ),
    ]);
  });

  it("finds upstream commands that cannot run, a missing guard module and refused transports, all at once", () => {
    const dir = tempDir();
    const script = join(dir, "server.sh");
    writeFileSync(script, "#!/bin/sh\n");
    chmodSync(script, 0o644);
    const r = check(
      dir,
      `listen: stdio
policy: ./policy.yaml
upstreams:
  - name: gone
    command: /nonexistent/mcp-server
  - name: noexec
    command: ${JSON.stringify(script)}
  - name: web
    url: http://127.0.0.1:9/mcp
security_guards:
  - id: mine
    type: wasm
    module_path: ./missing-guard.wasm
    runs_on: [tool_invoke]
`,
      'version: "1.0"\nmcp:\n  transport: { http: false }\n  tools:\n    allow: ["*"]\n',
    );
    expect(r.status).toBe(2);
    const text = r.lines.join("\n");
    expect(r.lines[0]).toBe("warden gateway --check: 7 problem(s):");
    expect(text).toMatch(
      /upstreams\[0\]\.command: upstream "gone" cannot be started: its command "\/nonexistent\/mcp-server" does not exist/,
    );
    expect(text).toMatch(
      /upstreams\[1\]\.command: upstream "noexec" cannot be started: its command ".*server\.sh" is not executable/,
    );
    expect(text).toMatch(
      /listen: the policy .*policy\.yaml refuses stdio connections .*every client would be refused\. In the policy, set `mcp\.transport\.stdio: true`, or listen on another transport\./,
    );
    expect(text).toMatch(
      /upstreams\[0\]: the policy .* refuses the stdio transport upstream "gone" uses/,
    );
    expect(text).toMatch(
      /upstreams\[1\]: the policy .* refuses the stdio transport upstream "noexec" uses/,
    );
    expect(text).toMatch(
      /upstreams\[2\]: the policy .* refuses the http transport upstream "web" uses .*In the policy, set `mcp\.transport\.http: \{ allowed_hosts: \["127\.0\.0\.1"\] \}` \(or `mcp\.transport\.http: true` for any host\), or remove the upstream\./,
    );
    expect(text).toMatch(
      /Guard "mine" \(.*warden\.yaml:\d+\): cannot read module_path .*missing-guard\.wasm/,
    );
  });

  it("passes a config that can work, naming its guards", () => {
    const dir = tempDir();
    const r = check(
      dir,
      `listen: stdio\npolicy: ./policy.yaml\nupstreams:\n  - name: fx\n    command: ${JSON.stringify(process.execPath)}\nsecurity_guards:\n  - id: pii-in\n    type: pii\n    runs_on: [tool_invoke]\n`,
      'version: "1.0"\nmcp:\n  transport: { stdio: true }\n  tools:\n    allow: ["*"]\n',
    );
    expect(r.status, r.lines.join("\n")).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, upstreams: ["fx"], guards: ["pii-in"] });
  });
});
