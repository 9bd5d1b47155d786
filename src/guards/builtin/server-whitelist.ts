import type { ConfigChecker, GuardSpec } from "../config-types.js";
import { GUARD_ALLOW, guardDeny } from "../decision.js";
import type { Guard, GuardDecision, ServerInfo } from "../types.js";

/**
 * server_whitelist: only listed upstreams may connect, by name and, for HTTP, by URL (exact, or
 * a prefix ending in `*`); optionally by command for stdio. On other phases it refuses traffic
 * from any server not listed (defence in depth when runs_on includes them).
 */
interface Entry {
  name: string;
  urls: string[] | undefined;
  commands: string[] | undefined;
}

function normUrl(u: string): string {
  try {
    return new URL(u).href;
  } catch {
    return u;
  }
}

function matchUrl(patterns: readonly string[], url: string): boolean {
  const u = normUrl(url);
  for (const p of patterns) {
    if (p.endsWith("*")) {
      if (u.startsWith(p.slice(0, -1))) return true;
    } else if (normUrl(p) === u) return true;
  }
  return false;
}

function parseEntries(v: unknown): Entry[] {
  if (!Array.isArray(v)) return [];
  return v.map((e) => {
    if (typeof e === "string") return { name: e, urls: undefined, commands: undefined };
    const o = e as Record<string, unknown>;
    const list = (x: unknown) =>
      x === undefined ? undefined : Array.isArray(x) ? (x as string[]) : [x as string];
    return {
      name: o.name as string,
      urls: list(o.url ?? o.urls),
      commands: list(o.command ?? o.commands),
    };
  });
}

export const checkServerWhitelistConfig: ConfigChecker = (cfg, report) => {
  const v = cfg.servers;
  if (!Array.isArray(v) || v.length === 0) {
    report(
      "servers",
      "servers must be a non-empty list of server names or {name, url, command} maps.",
    );
    return;
  }
  v.forEach((e, i) => {
    if (typeof e === "string" && e.length > 0) return;
    if (typeof e !== "object" || e === null || Array.isArray(e)) {
      report(
        `servers[${i}]`,
        `servers[${i}] must be a name or a map with name (and url or command).`,
      );
      return;
    }
    const o = e as Record<string, unknown>;
    for (const k of Object.keys(o))
      if (!["name", "url", "urls", "command", "commands"].includes(k))
        report(`servers[${i}].${k}`, `unknown key "${k}"; use name, url(s) or command(s).`);
    if (typeof o.name !== "string" || o.name.length === 0)
      report(`servers[${i}].name`, `servers[${i}] needs a name.`);
    for (const k of ["url", "urls", "command", "commands"]) {
      const x = o[k];
      if (x === undefined) continue;
      const arr = Array.isArray(x) ? x : [x];
      if (!arr.every((s) => typeof s === "string" && s.length > 0))
        report(`servers[${i}].${k}`, `${k} must be a string or a list of strings.`);
      if (k.startsWith("url"))
        for (const s of arr)
          if (typeof s === "string" && !s.endsWith("*") && !URL.canParse(s))
            report(
              `servers[${i}].${k}`,
              `"${s}" is not a URL (write it in full, or end a prefix with *).`,
            );
    }
  });
};

export function createServerWhitelist(spec: GuardSpec): Guard {
  const entries = new Map(parseEntries(spec.config.servers).map((e) => [e.name, e]));
  const names = [...entries.keys()].join(", ");
  return {
    id: spec.id,
    type: "server_whitelist",
    evaluate(phase, payload, ctx): GuardDecision {
      const name = phase === "connection" ? (payload as ServerInfo).name : ctx.serverName;
      const e = entries.get(name);
      if (e === undefined)
        return guardDeny(
          "server_not_allowed",
          `Server "${name}" is not in the server_whitelist guard "${spec.id}" (allowed: ${names}); add it to that guard's config.servers to let it connect.`,
          { server: name },
        );
      if (phase !== "connection") return GUARD_ALLOW;
      const s = payload as ServerInfo;
      if (e.urls !== undefined && s.transport === "http" && !matchUrl(e.urls, s.url ?? ""))
        return guardDeny(
          "server_url_not_allowed",
          `Server "${name}" connects to ${s.url ?? "(no url)"}, which the server_whitelist guard "${spec.id}" does not allow (allowed: ${e.urls.join(", ")}).`,
          { server: name, url: s.url },
        );
      if (
        e.commands !== undefined &&
        s.transport === "stdio" &&
        !e.commands.includes(s.command ?? "")
      )
        return guardDeny(
          "server_command_not_allowed",
          `Server "${name}" runs "${s.command ?? ""}", which the server_whitelist guard "${spec.id}" does not allow (allowed: ${e.commands.join(", ")}).`,
          { server: name, command: s.command },
        );
      return GUARD_ALLOW;
    },
  };
}
