/**
 * `warden gateway --check`: everything that can be known before the gateway runs, reported at
 * once, one problem per line. The config (every key, with "did you mean"), the policy (even
 * when the config has errors, as long as its `policy:` path can be read), the upstream commands
 * (exist, executable), the guards (each module found and loaded), and whether the policy lets
 * the listen transport and each upstream's transport through at all.
 */
import { readFileSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import { parseDocument } from "yaml";
import { allowHint, type CompiledPolicy, loadPolicyFileSync } from "../policy/index.js";
import { tooDeepYaml } from "../policy/nesting.js";
import { formatIssues, parseConfig } from "./config.js";
import type { GatewayConfig, UpstreamConfig } from "./config-types.js";
import { formatPolicyWarning, prefixWarnings } from "./prefix-check.js";
import { upstreamProblems } from "./upstream-check.js";

export interface GatewayCheck {
  ok: boolean;
  /** One line each: `file:line:col key: message`, or `file: key: message`. */
  problems: string[];
  config?: GatewayConfig;
  policy?: string;
  guards?: string[];
  /**
   * What is not wrong but probably not meant, one line each (`file:line:col key: message`):
   * policy rules that name no prefixed tool while every upstream is prefixed (prefix-check.ts).
   */
  warnings?: string[];
}

/**
 * The stdio upstreams of a config that did not validate, as far as they can be read: their
 * commands are checked too, so that one round shows every problem.
 */
function rawStdioUpstreams(text: string, file: string): UpstreamConfig[] {
  let list: unknown;
  if (tooDeepYaml(text) !== undefined) return [];
  try {
    list = (parseDocument(text).toJS() as { upstreams?: unknown } | null)?.upstreams;
  } catch {
    return [];
  }
  if (!Array.isArray(list)) return [];
  return list.map((u: unknown, i): UpstreamConfig => {
    const o = (typeof u === "object" && u !== null ? u : {}) as Record<string, unknown>;
    const env =
      typeof o.env === "object" && o.env !== null ? (o.env as Record<string, unknown>) : {};
    const cwd = resolve(dirname(file), typeof o.cwd === "string" ? o.cwd : ".");
    if (typeof o.command !== "string" || o.command === "")
      return {
        kind: "http",
        name: String(o.name ?? i),
        url: "",
        headers: {},
        bearerEnv: undefined,
        prefix: false,
      } as unknown as UpstreamConfig;
    return {
      kind: "stdio",
      name: String(o.name ?? i),
      command: o.command,
      args: [],
      env: typeof env.PATH === "string" ? { PATH: env.PATH } : {},
      cwd,
      prefix: false,
    } as unknown as UpstreamConfig;
  });
}

/** The `policy:` path of a config that did not validate, if it can still be read. */
function policyPathOf(text: string, file: string): string | undefined {
  if (tooDeepYaml(text) !== undefined) return undefined;
  try {
    const p = parseDocument(text).get("policy");
    if (typeof p !== "string" || p === "") return undefined;
    return isAbsolute(p) ? p : resolve(dirname(file), p);
  } catch {
    return undefined;
  }
}

function transportProblems(c: GatewayConfig, policy: CompiledPolicy): string[] {
  const out: string[] = [];
  const refused = (transport: "stdio" | "http", host?: string) => {
    const action =
      host === undefined
        ? { kind: "transport.connect", transport }
        : { kind: "transport.connect", transport, host };
    const d = policy.check(action);
    if (d.allowed) return undefined;
    const hint = allowHint(policy, action, d) ?? `allow it under mcp.transport.${transport}`;
    return { why: d.reason, fix: `In the policy, ${hint}` };
  };
  const l = c.listen;
  const why = l.kind === "http" ? refused("http", l.host) : refused("stdio");
  if (why !== undefined)
    out.push(
      `${c.file}: listen: the policy ${policy.file} refuses ${l.kind} connections (${why.why}), so every client would be refused. ${why.fix}, or listen on another transport.`,
    );
  for (const [i, u] of c.upstreams.entries()) {
    const t = upstreamTransport(u);
    const w = refused(t.transport, t.host);
    if (w !== undefined)
      out.push(
        `${c.file}: upstreams[${i}]: the policy ${policy.file} refuses the ${t.transport} transport upstream "${u.name}" uses (${w.why}). ${w.fix}, or remove the upstream.`,
      );
  }
  return out;
}

function upstreamTransport(u: UpstreamConfig): { transport: "stdio" | "http"; host?: string } {
  if (u.kind !== "http") return { transport: "stdio" };
  let host: string | undefined;
  try {
    host = new URL(u.url).hostname;
  } catch {}
  return host === undefined ? { transport: "http" } : { transport: "http", host };
}

/** Check a gateway config file and everything it names; never throws for a problem it finds. */
export async function checkGateway(path: string): Promise<GatewayCheck> {
  const file = resolve(path);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    return {
      ok: false,
      problems: [`${file}: cannot read the gateway config: ${(e as Error).message}`],
    };
  }
  const problems: string[] = [];
  const c = parseConfig(text, file);
  if (!c.ok) problems.push(...formatIssues(c.errors).split("\n"));
  const config = c.ok ? c.config : undefined;
  const policyFile = config?.policy ?? policyPathOf(text, file);
  let policy: CompiledPolicy | undefined;
  if (policyFile !== undefined) {
    const p = loadPolicyFileSync(policyFile, { key: "policy" });
    if (p.ok) policy = p.policy;
    else problems.push(...formatIssues(p.errors).split("\n"));
  }
  const out: GatewayCheck = { ok: false, problems };
  if (policyFile !== undefined) out.policy = policyFile;
  if (config === undefined) {
    problems.push(...upstreamProblems(file, rawStdioUpstreams(text, file)));
    return out;
  }
  out.config = config;
  problems.push(...upstreamProblems(file, config.upstreams));
  if (policy !== undefined) {
    problems.push(...transportProblems(config, policy));
    const w = prefixWarnings(config).map(formatPolicyWarning);
    if (w.length > 0) out.warnings = w;
  }
  // The guards are loaded as the gateway would load them (modules read, compiled, warmed up).
  const { loadGatewayGuards } = await import("./guards-hook.js");
  try {
    const g = await loadGatewayGuards(config);
    out.guards = g?.set.guards.map((e) => e.spec.id) ?? [];
    g?.set.close();
  } catch (e) {
    problems.push(...(e as Error).message.split("\n"));
  }
  out.ok = problems.length === 0;
  return out;
}
