// examples/scale-out runs as docs/scale-out.md shows it ("Try it"): a real redis-server, the
// issuer of examples/identity started with the documented arguments, two `warden gateway`
// processes with the shipped config, and the documented client block itself (bash and curl,
// with the ports the instances got): a session opened on one instance is continued on the
// other, and the rate limit of the shipped policy refuses the sixth call.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ROOT, tempDir } from "../mcp/helpers.js";
import { type Instance, startInstance } from "./instances.js";
import { RedisServer } from "./redis-server.js";

const DOC = readFileSync(join(ROOT, "docs/scale-out.md"), "utf8");
const CONFIG = join(ROOT, "examples/scale-out/warden.yaml");
let redis: RedisServer | undefined;
let issuer: ChildProcess | undefined;
const instances: Instance[] = [];

afterAll(async () => {
  await Promise.all(instances.map((i) => i.stop()));
  issuer?.kill("SIGTERM");
  await redis?.close();
});

/** The sh blocks of the doc's "Try it" section, in order. */
function tryItBlocks(): string[] {
  const section = DOC.slice(DOC.indexOf("## Try it"), DOC.indexOf("## Configuration"));
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

describe("docs/scale-out.md, Try it", () => {
  it("starts what the first block starts, with the shipped config and the documented issuer arguments", () => {
    const [start] = tryItBlocks();
    expect(start).toContain(
      "node examples/identity/issuer.mjs --port 9401 --audience http://127.0.0.1:8940/mcp",
    );
    expect(start).toContain("warden gateway --config examples/scale-out/warden.yaml --port 8941");
    expect(start).toContain("warden gateway --config examples/scale-out/warden.yaml --port 8942");
    expect(start).toMatch(/export WARDEN_REDIS_URL=\S+ WARDEN_STATE_SECRET=/);
  });

  it("the client block continues a session on the other instance and meets the rate limit", async () => {
    redis = await RedisServer.start();
    const dir = tempDir();
    issuer = spawn(
      process.execPath,
      [
        join(ROOT, "examples/identity/issuer.mjs"),
        "--port",
        "9401",
        "--audience",
        "http://127.0.0.1:8940/mcp",
      ],
      { cwd: dir, stdio: ["ignore", "pipe", "ignore"] },
    );
    let tokens = "";
    await new Promise<void>((ok, fail) => {
      issuer!.stdout!.on("data", (d: Buffer) => {
        tokens += d.toString();
        if (/^BOB_TOKEN=\S+$/m.test(tokens)) ok();
      });
      issuer!.once("exit", (c) => fail(new Error(`issuer exited (${c})`)));
    });
    writeFileSync(join(dir, "tokens.env"), tokens);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      WARDEN_REDIS_URL: redis.url,
      WARDEN_STATE_SECRET: randomBytes(32).toString("hex"),
      XDG_STATE_HOME: join(dir, "state"),
    };
    delete env.WARDEN_PORT;
    delete env.WARDEN_INSTANCE_URL;
    const [a, b] = await Promise.all([
      startInstance(CONFIG, env, dir),
      startInstance(CONFIG, env, dir),
    ]);
    instances.push(a!, b!);
    const port = (u: string) => new URL(u).port;
    const client = tryItBlocks()[1]!
      .replaceAll("/tmp/tokens.env", join(dir, "tokens.env"))
      .replaceAll("/tmp/h", join(dir, "h"))
      .replaceAll("8941", port(a!.url))
      .replaceAll("8942", port(b!.url));
    const out = execFileSync("bash", ["-c", `set -eu\n${client}`], { cwd: dir, encoding: "utf8" });
    const lines = out.split("\n").filter((l) => l.startsWith("{"));
    // initialize, then six calls: five answered, the sixth refused by the rate limit
    expect(JSON.parse(lines[0]!).result.serverInfo).toBeDefined();
    const calls = lines.slice(1).map((l) => JSON.parse(l));
    expect(calls).toHaveLength(6);
    for (const c of calls.slice(0, 5)) expect(c.result.content[0].text).toMatch(/Warden/);
    expect(calls[5].error.code).toBe(-32003);
    expect(calls[5].error.message).toMatch(/rate|per minute|max_calls/i);
  });
});
