/**
 * What to write in the policy to allow a denied action: the exact key path and value, built
 * from the action as it was judged (canonical), for every built-in kind. A denial message
 * quotes it ("add `mcp.transport.stdio: true`"), and `warden policy eval` prints it as `hint`.
 */
import type { CompiledPolicy } from "./policy.js";
import type { CheckOptions, PolicyDecision } from "./types.js";

type Obj = Readonly<Record<string, unknown>>;

const q = (v: unknown): string => JSON.stringify(v);

/** `add <entry> under <list>` for a rule list; `set <key: value>` for a switch. */
function under(list: string, entry: string): string {
  return `add \`- ${entry}\` under ${list}`;
}

function networkEntry(a: Obj): string {
  const parts = [`host: ${q(a.host)}`];
  if (typeof a.port === "number") parts.push(`ports: [${a.port}]`);
  if (typeof a.scheme === "string") parts.push(`schemes: [${a.scheme}]`);
  if (typeof a.method === "string") parts.push(`methods: [${a.method}]`);
  return `{ ${parts.join(", ")} }`;
}

/**
 * The key to add for a canonical action (an `explanation.input`), or undefined for a kind
 * Warden does not know (a host's own section).
 */
export function allowHintFor(input: unknown): string | undefined {
  if (input === null || typeof input !== "object") return undefined;
  const a = input as Obj;
  switch (a.kind) {
    case "storage.read":
    case "storage.write":
      return under(
        "storage.allow",
        `{ uri: ${q(a.uri)}, access: [${a.kind === "storage.read" ? "read" : "write"}] }`,
      );
    case "network.connect":
    case "http.request":
      return typeof a.host === "string" ? under("network.allow", networkEntry(a)) : undefined;
    case "env.read":
      return under("environment.allow", q(a.key));
    case "tool.call":
    case "tool.list":
      return under("mcp.tools.allow", `name: ${q(a.name)}`);
    case "prompt.get":
    case "prompt.list":
      return under("mcp.prompts.allow", `name: ${q(a.name)}`);
    case "resource.read":
      return under("mcp.resources.allow", `uri: ${q(a.uri)}`);
    case "resource.list":
      return under("mcp.resources.allow", `{ uri: ${q(a.uri)}, operations: [list] }`);
    case "completion.complete":
      return typeof a.name === "string"
        ? under("mcp.prompts.allow", `name: ${q(a.name)}`)
        : typeof a.uri === "string"
          ? under("mcp.resources.allow", `uri: ${q(a.uri)}`)
          : undefined;
    case "method.call":
      return under("mcp.methods.allow", q(a.name ?? a.method));
    case "transport.connect":
      if (a.transport === "stdio") return "set `mcp.transport.stdio: true`";
      return typeof a.host === "string"
        ? `set \`mcp.transport.${a.transport}: { allowed_hosts: [${q(a.host)}] }\` (or \`mcp.transport.${a.transport}: true\` for any host)`
        : `set \`mcp.transport.${a.transport}: true\``;
    default:
      return undefined;
  }
}

/**
 * What to add so that `action`, which `policy` denied with `decision`, is allowed. Only for a
 * default deny (`no_rule`): a deny rule, a failed condition or a rate limit name their rule in
 * the reason already. The action is judged again with `explain` to see its canonical form; a
 * denial is the slow path, and a default deny matched no rule, so no rate limit is touched.
 */
export function allowHint(
  policy: CompiledPolicy,
  action: unknown,
  decision: PolicyDecision,
  opts?: CheckOptions,
): string | undefined {
  if (decision.code !== "no_rule") return undefined;
  const input =
    decision.explanation?.input ??
    policy.check(action, { ...opts, explain: true }).explanation?.input;
  return allowHintFor(input);
}
