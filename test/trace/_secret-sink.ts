/**
 * The shape of the attacks on `http` URL rules: a Node app (real `warden run --json
 * --no-strace`) that starts a loopback sink, then tries to reach its `/secret/*` paths, which the
 * policy denies, in ways that answer the agent one URL and Node another.
 */
import { expect } from "vitest";
import { files, type Ran, runWarden, tempDir } from "./helpers.js";
import { eventsOf } from "./python-helpers.js";

/**
 * Run app.js: `body` runs once the sink listens (`http`, `sink`, `port` and `base`, its URL, in
 * scope; it ends with `sink.close()` or the app never ends). The sink logs `SINK GOT <method>
 * <path>` on stderr. The run (it must exit 0), and the targets the agent blocked.
 */
export async function secretSinkApp(
  prefix: string,
  body: string,
): Promise<{ r: Ran; blocked: string[] }> {
  const root = tempDir(prefix);
  files(root, {
    "app.js": `
const http = require("http");
const sink = http.createServer((req, res) => { console.error("SINK GOT", req.method, req.url); res.end("ok"); });
sink.listen(0, "127.0.0.1", async () => {
  const port = sink.address().port, base = "http://127.0.0.1:" + port;
${body}
});
`,
    "policy.yaml": ['version: "1.0"', "http:", '  deny: ["127.0.0.1:*/secret/*"]', ""].join("\n"),
  });
  const r = await runWarden(
    ["run", "--json", "--no-strace", "--policy", "policy.yaml", "--", process.execPath, "app.js"],
    { cwd: root },
  );
  expect(r.code, r.stderr).toBe(0);
  const { events } = eventsOf(r.stdout);
  return { r, blocked: events.filter((e) => e.verdict === "block").map((e) => e.target) };
}

/** Each of `paths` was blocked (a target ending in it) and none reached the sink. */
export function expectSecretsBlocked(
  r: Ran,
  blocked: readonly string[],
  paths: readonly string[],
): void {
  expect(r.stderr).not.toMatch(/SINK GOT \w+ \/secret/);
  for (const p of paths)
    expect(
      blocked.some((t) => t.endsWith(p)),
      `${p} in ${blocked}`,
    ).toBe(true);
}
