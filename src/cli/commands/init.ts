import { existsSync, mkdirSync, realpathSync, writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import type { Command } from "commander";
import { exitCodeFor, WardenError } from "../../core/errors.js";
import { checkGateway } from "../../mcp/check.js";
import { classify, type UpstreamPlan } from "../init/classify.js";
import { type Discovered, describeSpec, discover } from "../init/discover.js";
import { readClientConfig } from "../init/from-client.js";
import {
  parseUpstreamOption,
  parseUpstreamUrl,
  type UpstreamSpec,
  uniqueNames,
} from "../init/spec.js";
import { configYaml, policyYaml } from "../init/write-yaml.js";
import { jsonOption, printJson, usageError } from "../output.js";

interface InitOptions {
  upstream: string[];
  upstreamUrl: string[];
  from: string[];
  dir: string;
  force?: boolean;
  timeout: string;
  json?: boolean;
}

const collect = (value: string, previous: string[]) => [...previous, value];

const CONFIG = "warden.yaml";
const POLICY = "policy.yaml";

/** How a client starts this very `warden`: the bin link itself, or node and the script. */
function wardenCommand(): { command: string; args: string[] } {
  const script = process.argv[1] ?? "warden";
  if (basename(script) === "warden") return { command: script, args: [] };
  let path = script;
  try {
    path = realpathSync(script);
  } catch {}
  return { command: process.execPath, args: [path] };
}

function specsOf(o: InitOptions, cwd: string): UpstreamSpec[] {
  const specs: UpstreamSpec[] = [
    ...o.upstream.map((u) => parseUpstreamOption(u, cwd)),
    ...o.upstreamUrl.map((u) => parseUpstreamUrl(u)),
    ...o.from.flatMap((f) => readClientConfig(f, cwd)),
  ];
  if (specs.length === 0)
    throw usageError(
      'name the MCP servers to put behind the gateway: --upstream "npx -y @modelcontextprotocol/server-filesystem ./data" (repeatable), --upstream-url https://host/mcp, or --from claude_desktop_config.json',
    );
  return uniqueNames(specs);
}

function timeoutMs(text: string): number {
  const s = Number(text);
  if (!Number.isFinite(s) || s <= 0 || s > 3600)
    throw usageError(`--timeout "${text}" must be a number of seconds between 0 and 3600`);
  return Math.round(s * 1000);
}

/**
 * Start every upstream at once. Failures become one error, one line per upstream, with the
 * code of the worst (a server that failed at run time over a command that does not exist).
 */
async function discoverAll(specs: readonly UpstreamSpec[], ms: number): Promise<Discovered[]> {
  const results = await Promise.allSettled(specs.map((s) => discover(s, ms)));
  const failures = results.flatMap((r) => (r.status === "rejected" ? [r.reason as unknown] : []));
  if (failures.length === 0)
    return results.map((r) => (r as PromiseFulfilledResult<Discovered>).value);
  const worst = failures.reduce((a, b) => (exitCodeFor(b) > exitCodeFor(a) ? b : a));
  if (failures.length === 1 || !(worst instanceof WardenError)) throw worst;
  throw new WardenError(
    worst.code,
    failures
      .map((f) => (f instanceof WardenError ? `${f.code}: ${f.message}` : String(f)))
      .join("\n"),
    { category: worst.category, cause: worst, details: { upstreams: failures.length } },
  );
}

function counts(p: UpstreamPlan) {
  const n = (v: string) => p.tools.filter((t) => t.verdict === v).length;
  return {
    tools: p.tools.length,
    allowed: n("allow"),
    denied: n("deny"),
    undecided: n("decide") + n("refused"),
    prompts: p.prompts.length,
    resources: p.resources.length,
  };
}

function summary(plans: readonly UpstreamPlan[], config: string, policy: string) {
  const client = wardenCommand();
  const args = [...client.args, "gateway", "--config", config];
  const byVerdict = (v: string) =>
    plans.flatMap((p) => p.tools.filter((t) => t.verdict === v).map((t) => t.name));
  return {
    ok: true,
    config,
    policy,
    upstreams: plans.map((p) => ({
      name: p.name,
      transport: p.found.spec.kind,
      target: describeSpec(p.found.spec),
      server: p.found.server,
      prefix: p.prefix,
      directories: p.directories,
      ...counts(p),
      truncated: p.found.truncated,
    })),
    tools: {
      allowed: byVerdict("allow"),
      denied: byVerdict("deny"),
      undecided: [...byVerdict("decide"), ...byVerdict("refused")],
    },
    check: { ok: true },
    next: {
      check: `warden gateway --check --config ${config}`,
      start: `warden gateway --config ${config}`,
      audit: `warden audit --config ${config}`,
      client: { command: client.command, args },
    },
  };
}

function printText(s: ReturnType<typeof summary>): void {
  const out: string[] = [`warden init: wrote ${s.config} and ${s.policy}`];
  for (const u of s.upstreams)
    out.push(
      `  ${u.name} (${u.target}): ${u.tools} tools: ${u.allowed} allowed (read-only), ${u.denied} denied (destructive), ${u.undecided} for you to decide; ${u.prompts} prompts, ${u.resources} resources${u.directories.length > 0 ? `; paths held to ${u.directories.join(", ")}` : ""}${u.truncated ? " (lists cut at their bound)" : ""}`,
    );
  const snippet = JSON.stringify({ mcpServers: { warden: s.next.client } });
  const vscode = JSON.stringify({ servers: { warden: { type: "stdio", ...s.next.client } } });
  out.push(
    "warden gateway --check: ok",
    "",
    "Next:",
    `  1. Read ${s.policy}: tools for you to decide are listed there, commented out, with their descriptions.`,
    `  2. Check it after each change:  ${s.next.check}`,
    "  3. Connect your MCP client; it starts the gateway, which starts the servers.",
    `     Claude Desktop (claude_desktop_config.json), Cursor (.cursor/mcp.json): ${snippet}`,
    `     VS Code (.vscode/mcp.json): ${vscode}`,
    `     Or run it yourself: ${s.next.start}`,
    `  4. See what it decided:  warden audit --config ${s.config}`,
  );
  process.stdout.write(`${out.join("\n")}\n`);
}

/** `warden init`: discover upstreams and write a commented warden.yaml and policy.yaml. */
export function registerInit(program: Command): void {
  jsonOption(program.command("init"))
    .description(
      "Start MCP servers, list their tools, prompts and resources, and write a commented warden.yaml and policy.yaml for them (see docs/cli.md).",
    )
    .option(
      "--upstream <command>",
      'a server started as a command, e.g. "npx -y @modelcontextprotocol/server-filesystem ./data"; "NAME=command" names it (repeatable)',
      collect,
      [],
    )
    .option(
      "--upstream-url <url>",
      'a Streamable HTTP server, e.g. https://host/mcp; "NAME=url" names it (repeatable)',
      collect,
      [],
    )
    .option(
      "--from <file>",
      "import the servers of a client's config: claude_desktop_config.json, .vscode/mcp.json, .cursor/mcp.json (repeatable)",
      collect,
      [],
    )
    .option("--dir <dir>", "where to write warden.yaml and policy.yaml", ".")
    .option("--force", "overwrite warden.yaml and policy.yaml if they exist")
    .option("--timeout <seconds>", "how long each server may take to start and list", "60")
    .action(async (o: InitOptions) => {
      const cwd = process.cwd();
      const ms = timeoutMs(o.timeout);
      const specs = specsOf(o, cwd);
      const dir = resolve(o.dir);
      const config = join(dir, CONFIG);
      const policy = join(dir, POLICY);
      if (!o.force)
        for (const f of [config, policy])
          if (existsSync(f))
            throw new WardenError(
              "init_file_exists",
              `${f} exists; warden init does not overwrite it: pass --force to replace it, or --dir to write elsewhere`,
              { category: "usage", details: { file: f } },
            );
      const plans = classify(await discoverAll(specs, ms));
      const opts = { dir, policyFile: POLICY };
      const texts: [string, string][] = [
        [config, configYaml(plans, opts)],
        [policy, policyYaml(plans, opts)],
      ];
      mkdirSync(dir, { recursive: true });
      for (const [file, text] of texts) {
        try {
          writeFileSync(file, text, { flag: o.force ? "w" : "wx" });
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === "EEXIST")
            throw new WardenError(
              "init_file_exists",
              `${file} appeared while warden init ran; it was not overwritten: pass --force to replace it`,
              { category: "usage", details: { file } },
            );
          throw e;
        }
      }
      const check = await checkGateway(config);
      if (!check.ok) {
        process.stderr.write(
          `warden gateway --check: ${check.problems.length} problem(s) in what warden init wrote:\n${check.problems.join("\n")}\n`,
        );
        throw new WardenError(
          "internal",
          `the files warden init wrote do not pass warden gateway --check (listed above): a bug in warden init, please report it`,
        );
      }
      // what --check warns about (none expected: the names are the ones the gateway exposes)
      for (const w of check.warnings ?? []) process.stderr.write(`warden: warning: ${w}\n`);
      const s = summary(plans, config, policy);
      if (o.json) printJson(s);
      else printText(s);
    });
}
