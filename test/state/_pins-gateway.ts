/**
 * A gateway's config with rug_pull and its pins in Redis, in front of the real SDK server
 * fixtures/versioned-server.mjs (upstream `pv`, tool `test_greet`, whose description is read from
 * a file at each tools/list: write the file and the tool has changed), for the tests of pins
 * shared through Redis (test/state, test/admin).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir, writeGatewayFiles } from "../mcp/helpers.js";

export const VERSIONED = join(import.meta.dirname, "fixtures", "versioned-server.mjs");
/** A pin hash no tool has. */
export const STALE = `sha256:${"0".repeat(64)}`;

export interface PinsGatewayFiles {
  /** The temp dir holding warden.yaml, policy.yaml, greet.txt, state/ and audit.jsonl. */
  dir: string;
  /** test_greet's description ("Greets someone." to start with). */
  greetFile: string;
  /** warden.yaml. */
  file: string;
}

/**
 * Write the config in a new temp dir: MCP over HTTP on 127.0.0.1, any port; `redis`: the keys of
 * state.redis (default: `redisUrl`, 5 s commands: a stopped Redis fails them at
 * once, a short timeout only on a loaded machine; reconnect within 100 ms); `audit` (default
 * true): audit.jsonl in the dir; `sections`: more top-level YAML (auth:, admin:), newline-ended.
 */
export function pinsGatewayFiles(opts: {
  redisUrl?: string;
  redis?: string;
  audit?: boolean;
  sections?: string;
}): PinsGatewayFiles {
  const dir = tempDir();
  const greetFile = join(dir, "greet.txt");
  writeFileSync(greetFile, "Greets someone.");
  const redis =
    opts.redis ?? `url: "${opts.redisUrl}", command_timeout_ms: 5000, max_reconnect_delay_ms: 100`;
  const file = writeGatewayFiles(
    dir,
    `listen: { http: { host: 127.0.0.1, port: 0, path: /mcp } }
policy: ./policy.yaml
${opts.audit === false ? "" : `audit: { file: ${dir}/audit.jsonl }\n`}state:
  dir: ${dir}/state
  redis: { ${redis} }
${opts.sections ?? ""}security_guards:
  - id: pins
    type: rug_pull
upstreams:
  - name: pv
    command: ${JSON.stringify(process.execPath)}
    args: [${JSON.stringify(VERSIONED)}, ${JSON.stringify(greetFile)}]
`,
  );
  return { dir, greetFile, file };
}

/**
 * A pins file in `dir`/state with a pending change (upstream `filesonly`, tool `echo`): what an
 * admin would show if it read the files; under state.redis it must never be shown.
 */
export function plantFilePins(dir: string): void {
  mkdirSync(join(dir, "state"), { recursive: true });
  writeFileSync(
    join(dir, "state", "pins.json"),
    JSON.stringify({
      version: 1,
      servers: {
        filesonly: {
          echo: {
            hash: STALE,
            description: "old",
            seen_at: "2026-01-01T00:00:00.000Z",
            pending: { hash: STALE, description: "x", seen_at: "2026-01-01T00:00:00.000Z" },
          },
        },
      },
    }),
  );
}
