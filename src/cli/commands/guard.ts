import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { basename, resolve } from "node:path";
import { type Command, Option } from "commander";
import { parse as parseYaml } from "yaml";
import { isWardenError, WardenError } from "../../core/errors.js";
import { approvePins, listPins } from "../../guards/builtin/pins.js";
import { BUILTIN_TYPES } from "../../guards/builtin/registry.js";
import { pinsFileOf } from "../../guards/builtin/rug-pull.js";
import { formatGuardIssues, parseGuardsConfig, parseGuardsYaml } from "../../guards/config.js";
import { loadGuards } from "../../guards/loader.js";
import { GUARD_PHASES, type GuardPhase, type PhasePayload } from "../../guards/types.js";
import { loadConfig } from "../../mcp/config.js";
import type { RedisState } from "../../state/redis.js";
import type { RedisSettings } from "../../state/settings.js";
import { EXIT } from "../exit-codes.js";
import { jsonOption, printJson, usageError } from "../output.js";

type Obj = Record<string, unknown>;

function readJson(input: string | undefined): unknown {
  if (input === undefined)
    throw usageError("--input is required: a JSON file, - for stdin, or JSON text");
  const text =
    input === "-"
      ? readFileSync(0, "utf8")
      : existsSync(input)
        ? readFileSync(input, "utf8")
        : input;
  try {
    return JSON.parse(text);
  } catch {
    throw usageError(
      `--input "${input.slice(0, 60)}" is neither a JSON file, "-" (stdin) nor JSON text`,
    );
  }
}

/** The phase's payload from friendly input shapes (see docs/guards.md, "warden guard test"). */
function payloadOf(phase: GuardPhase, v: unknown): PhasePayload[GuardPhase] {
  const o = (v ?? {}) as Obj;
  switch (phase) {
    case "tools_list":
      if (Array.isArray(v)) return v as PhasePayload["tools_list"];
      if (Array.isArray(o.tools)) return o.tools as PhasePayload["tools_list"];
      throw usageError('for --phase tools_list, --input is a list of tools or {"tools": [...]}');
    case "connection":
      if (typeof o.name !== "string")
        throw usageError(
          'for --phase connection, --input is {"name", "transport", "url" or "command"}',
        );
      return { transport: o.url ? "http" : "stdio", ...o } as PhasePayload["connection"];
    case "response":
      return {
        method: String(o.method ?? "tools/call"),
        name: String(o.name ?? ""),
        result: o.result ?? o,
        isError: (o.result as Obj | undefined)?.isError === true || o.isError === true,
      };
    default:
      return {
        method: String(o.method ?? (phase === "tool_invoke" ? "tools/call" : "prompts/get")),
        name: String(o.name ?? ""),
        arguments: o.arguments ?? {},
      };
  }
}

function configPairs(pairs: string[]): Obj {
  const out: Obj = {};
  for (const p of pairs) {
    const i = p.indexOf("=");
    if (i <= 0) throw usageError(`--set "${p}" must be key=value (the value may be JSON)`);
    const k = p.slice(0, i);
    const raw = p.slice(i + 1);
    try {
      out[k] = JSON.parse(raw);
    } catch {
      out[k] = raw;
    }
  }
  return out;
}

const collect = (v: string, acc: string[]) => [...acc, v];

function registerGuardTest(program: Command): void {
  const guard = program
    .command("guard")
    .description(
      "Test security guards (WebAssembly components, JSON ABI modules or built-in types).",
    );
  jsonOption(guard.command("test <guard>"))
    .description(
      'Run one guard once on --input and print the decision as JSON. <guard> is a .wasm file (component or JSON ABI core module) or a built-in type (tool_poisoning, rug_pull, tool_shadowing, server_whitelist, pii). Exit 0 allowed (or warn, modify), 1 blocked (deny); a guard failure prints {"error":{code,message}} and exits 3; bad usage exits 2.',
    )
    .requiredOption("--phase <phase>", `one of ${GUARD_PHASES.join(", ")}`)
    .option("--input <file|-|json>", "the payload: a file, - for stdin, or JSON text")
    .option("--set <key=value>", "a guard setting (repeatable; values may be JSON)", collect, [])
    // `--config` names a warden.yaml in every command; guard settings were `--config k=v` once.
    .addOption(new Option("--config <value>").hideHelp())
    .option("--server <name>", "the upstream server name in the context", "test")
    .option("--timeout-ms <n>", "timeout_ms (default 100)")
    .option("--memory-limit <bytes>", "limits.max_memory_bytes (default 64 MiB)")
    .option("--fuel <n>", "limits.max_fuel (default off)")
    .option("--cache-dir <dir>", "where transpiled components and instrumented modules are cached")
    .action(
      async (
        guard: string,
        opts: {
          phase: string;
          input?: string;
          set: string[];
          config?: string;
          server: string;
          timeoutMs?: string;
          memoryLimit?: string;
          fuel?: string;
          cacheDir?: string;
        },
      ) => {
        if (opts.config !== undefined)
          throw usageError(
            `--config names a warden.yaml in every warden command; give guard settings with --set key=value (for example --set ${opts.config.includes("=") ? opts.config : "mode=redact"})`,
          );
        if (!(GUARD_PHASES as readonly string[]).includes(opts.phase))
          throw usageError(
            `--phase must be one of ${GUARD_PHASES.join(", ")}, not "${opts.phase}"`,
          );
        const phase = opts.phase as GuardPhase;
        const builtin = BUILTIN_TYPES[guard] !== undefined;
        if (!builtin && !existsSync(guard))
          throw usageError(
            `${guard} is neither a .wasm file nor a built-in guard type (${Object.keys(BUILTIN_TYPES).join(", ")})`,
          );
        const entry: Obj = {
          id: builtin
            ? guard
            : basename(guard)
                .replace(/\.wasm$/, "")
                .replace(/[^A-Za-z0-9._-]/g, "_")
                .slice(0, 128) || "guard",
          type: builtin ? guard : "wasm",
          runs_on: [phase],
          config: configPairs(opts.set),
        };
        if (!builtin) entry.module_path = resolve(guard);
        if (opts.timeoutMs !== undefined) entry.timeout_ms = Number(opts.timeoutMs);
        const limits: Obj = {};
        if (opts.memoryLimit !== undefined) limits.max_memory_bytes = Number(opts.memoryLimit);
        if (opts.fuel !== undefined) limits.max_fuel = Number(opts.fuel);
        if (Object.keys(limits).length > 0) entry.limits = limits;
        const parsed = parseGuardsConfig([entry], resolve("warden.yaml"));
        if (parsed.issues.length > 0)
          throw usageError(
            parsed.issues
              .map((i) => `${i.key.replace("security_guards[0].", "--")}: ${i.message}`)
              .join("\n"),
          );
        const payload = payloadOf(phase, readJson(opts.input));
        try {
          const guards = await loadGuards(
            parsed.guards,
            opts.cacheDir ? { cacheDir: opts.cacheDir } : {},
          );
          const r = guards.run(phase, payload, {
            serverName: opts.server,
            knownServers: [opts.server],
          });
          const failed = r.trail.find((t) => t.outcome === "failed");
          if (failed !== undefined) {
            printJson({ error: { code: failed.code, message: failed.message } });
            process.exitCode = EXIT.failure;
            return;
          }
          printJson({ decision: r.decision, duration_us: r.trail[0]?.durationUs ?? 0 });
          guards.close();
          // A block is a "no", as a policy's deny is (docs/cli.md, "Exit codes").
          if (r.decision.kind === "deny") process.exitCode = EXIT.denied;
        } catch (error) {
          if (
            !isWardenError(error) ||
            (error.category !== "plugin" && error.code !== "guard_load_failed")
          )
            throw error;
          printJson({ error: { code: error.code, message: error.message } });
          process.exitCode = EXIT.failure;
        }
      },
    );
}

/**
 * Where the pins are: Redis when --config has state.redis (every instance shares them there),
 * else the pins file (--file, or the rug_pull guard's in --config warden.yaml).
 */
function pinsSource(opts: {
  file?: string;
  config?: string;
  guard?: string;
}): { file: string } | { redis: RedisSettings } {
  if (opts.file === undefined) {
    const cfg = resolve(opts.config ?? "warden.yaml");
    let raw: unknown;
    try {
      raw = parseYaml(readFileSync(cfg, "utf8"));
    } catch {
      raw = undefined; // pinsFile reports a missing or broken file
    }
    const state = (raw as { state?: { redis?: unknown } } | undefined)?.state;
    if (state?.redis !== undefined) {
      const config = loadConfig(cfg, { upstreamsOptional: true });
      if (config.state?.redis !== undefined) return { redis: config.state.redis };
    }
  }
  return { file: pinsFile(opts) };
}

/**
 * Run `fn` on a connection to the Redis of `settings`, closed after; `state_unavailable`
 * (exit 3) when Redis does not answer within its connect_timeout_ms.
 */
async function withRedis<T>(
  settings: RedisSettings,
  what: string,
  fn: (state: RedisState) => Promise<T>,
): Promise<T> {
  const { RedisState } = await import("../../state/index.js");
  const state = RedisState.open(settings);
  try {
    if (!(await state.waitUp(settings.connectTimeoutMs))) throw state.unavailable(what);
    return await fn(state);
  } finally {
    await state.close();
  }
}

/** The pins file: --file, or the rug_pull guard's pins_file in --config warden.yaml. */
function pinsFile(opts: { file?: string; config?: string; guard?: string }): string {
  if (opts.file !== undefined) {
    // A pins file named on the command line is an input: missing is bad input (exit 2). The
    // one a warden.yaml names may not exist yet (nothing pinned so far).
    if (!existsSync(opts.file))
      throw usageError(
        `--file ${opts.file} does not exist; name the pins file the rug_pull guard writes, or pass --config <warden.yaml>`,
      );
    return resolve(opts.file);
  }
  const cfg = resolve(opts.config ?? "warden.yaml");
  if (!existsSync(cfg))
    throw usageError(
      `no --file given and ${cfg} does not exist; pass --file <pins.json> or --config <warden.yaml>`,
    );
  const r = parseGuardsYaml(readFileSync(cfg, "utf8"), cfg);
  if (r.issues.length > 0)
    throw new WardenError(
      "guard_config_invalid",
      `security_guards in ${cfg}:\n${formatGuardIssues(r.issues)}`,
      { category: "config" },
    );
  const rp = r.guards.filter(
    (g) => g.type === "rug_pull" && (opts.guard === undefined || g.id === opts.guard),
  );
  if (rp.length === 0)
    throw usageError(
      `${cfg} has no rug_pull guard${opts.guard ? ` with id "${opts.guard}"` : ""}; pass --file <pins.json>`,
    );
  if (rp.length > 1)
    throw usageError(
      `${cfg} has several rug_pull guards (${rp.map((g) => g.id).join(", ")}); pick one with --guard <id>`,
    );
  return pinsFileOf(rp[0]!);
}

function registerPins(program: Command): void {
  const pins = program
    .command("pins")
    .description("Review and approve the tool versions the rug_pull guard pinned.");
  const where = (c: Command) =>
    jsonOption(c)
      .option("--file <pins.json>", "the pins file")
      .option(
        "--config <warden.yaml>",
        "find the pins of the rug_pull guard in this config (default ./warden.yaml): in Redis when it has state.redis, else its pins file",
      )
      .option("--guard <id>", "which rug_pull guard, when the config has several");
  where(
    pins
      .command("list")
      .description(
        "Print every pinned tool as a JSON array: server, tool, hash, status (pinned | changed) and, for changes, both descriptions.",
      ),
  ).action(async (opts: { file?: string; config?: string; guard?: string }) => {
    const src = pinsSource(opts);
    if ("file" in src) return printJson(listPins(src.file));
    const { listRedisPins, pinsKey } = await import("../../state/index.js");
    printJson(
      await withRedis(src.redis, "`warden pins list`", (state) =>
        listRedisPins(state, pinsKey(state.keyPrefix)),
      ),
    );
  });
  where(
    pins
      .command("approve [server] [tool]")
      .description(
        "Approve pending changes: of one tool, of every tool of a server, or (with --all) everything. Prints what was approved.",
      )
      .option("--all", "approve every pending change"),
  ).action(
    async (
      server: string | undefined,
      tool: string | undefined,
      opts: { file?: string; config?: string; guard?: string; all?: boolean },
    ) => {
      if (server === undefined && !opts.all)
        throw usageError(
          "name a server (and a tool), or pass --all to approve every pending change",
        );
      const by = process.env.USER ?? "cli";
      const src = pinsSource(opts);
      if ("file" in src) return printJson(approvePins(src.file, server, tool, by));
      const { approveRedisPins, pinsChannel, pinsKey } = await import("../../state/index.js");
      const origin = randomBytes(9).toString("base64url");
      printJson(
        await withRedis(src.redis, "`warden pins approve`", (state) =>
          approveRedisPins(
            state,
            pinsKey(state.keyPrefix),
            pinsChannel(state.keyPrefix),
            origin,
            server,
            tool,
            by,
          ),
        ),
      );
    },
  );
}

export function registerGuards(program: Command): void {
  registerGuardTest(program);
  registerPins(program);
}
