/**
 * The two files `warden init` writes, as commented YAML made with the `yaml` package's
 * Document API (values are the library's to quote; comments are one line each, made safe by
 * `oneLine`). Undecided rules are written as comments that are valid YAML once uncommented.
 */
import { isAbsolute, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Document, isMap, isSeq, type Node, stringify, type YAMLMap, YAMLSeq } from "yaml";
import { oneLine, type ToolPlan, type UpstreamPlan } from "./classify.js";
import { describeSpec } from "./discover.js";

const SCHEMAS = fileURLToPath(new URL("../../../schemas/", import.meta.url));
const TO_STRING = { lineWidth: 0 } as const;
/** Commented-out resources listed per upstream, at most. */
const MAX_LISTED_RESOURCES = 50;

/** The `yaml-language-server` header line for a file in `dir`. */
function schemaLine(dir: string, schema: string): string {
  const file = `${SCHEMAS}${schema}`;
  let rel = relative(dir, file);
  if (isAbsolute(rel) || rel.startsWith("../../../../")) rel = file;
  else if (!rel.startsWith(".")) rel = `./${rel}`;
  return ` yaml-language-server: $schema=${rel}`;
}

/** YAML text as comment lines (the `yaml` package adds "#"), indented as it would be. */
function asComment(value: unknown): string {
  return stringify(value, TO_STRING)
    .trimEnd()
    .split("\n")
    .map((l) => ` ${l}`)
    .join("\n");
}

/** Comment text indented by `n` more spaces (each line keeps its leading space). */
function indent(text: string, n: number): string {
  return text.replace(/^ /gm, ` ${" ".repeat(n)}`);
}

function appendComment(node: { comment?: string | null }, text: string): void {
  node.comment = node.comment ? `${node.comment}\n${text}` : text;
}

function rule(t: ToolPlan): unknown {
  return t.parameters === undefined ? t.pattern : { name: t.pattern, parameters: t.parameters };
}

/** A commented-out list entry, its description at the end of its first line. */
function commentedEntry(value: unknown, note: string): string {
  const lines = asComment([value]).split("\n");
  if (note !== "") lines[0] = `${lines[0]}  # ${note}`;
  return lines.join("\n");
}

function header(plans: readonly UpstreamPlan[]): string {
  return plans
    .map((p) => {
      const s = p.found.server;
      return `   ${p.name}: ${oneLine(describeSpec(p.found.spec), 100)}${s ? ` (${oneLine(`${s.name} ${s.version}`, 60)})` : ""}`;
    })
    .join("\n");
}

export interface WriteOptions {
  /** The folder the files go to (for the schema header's relative path). */
  readonly dir: string;
  readonly policyFile: string;
}

/** warden.yaml: listen on stdio, the policy, the audit (in the state directory), the upstreams. */
export function configYaml(plans: readonly UpstreamPlan[], o: WriteOptions): string {
  const doc = new Document({
    listen: "stdio",
    policy: `./${o.policyFile}`,
    audit: { arguments: "redacted" },
    upstreams: [],
  });
  doc.commentBefore = [
    schemaLine(o.dir, "warden.schema.json"),
    "",
    " Written by `warden init`: the MCP gateway between your client and these servers:",
    header(plans),
    " Check it:  warden gateway --check --config warden.yaml",
    " Start it:  warden gateway --config warden.yaml   (reference: docs/gateway.md)",
  ].join("\n");
  (doc.get("listen", true) as Node).comment =
    " the client starts the gateway and speaks MCP on its stdin/stdout; HTTP: listen: { http: { port: 8931 } }";
  (doc.get("policy", true) as Node).comment =
    " what clients may do; relative paths are relative to this file";
  (doc.get("audit", true) as Node).commentBefore =
    " one JSON line per judged call, in <state.dir>/audit.jsonl ($XDG_STATE_HOME/warden, else ~/.local/state/warden): warden audit --config warden.yaml";
  (doc.getIn(["audit", "arguments"], true) as Node).comment =
    " redacted (shapes only) | full | omit";
  const list = doc.get("upstreams", true);
  if (!isSeq(list)) throw new Error("upstreams is a sequence");
  for (const p of plans) {
    const s = p.found.spec;
    const entry =
      s.kind === "stdio"
        ? doc.createNode({
            name: p.name,
            command: s.command,
            args: [...s.args],
            ...(Object.keys(s.env).length > 0 ? { env: { ...s.env } } : {}),
            ...(resolve(s.cwd) === resolve(o.dir) ? {} : { cwd: s.cwd }),
            prefix: p.prefix,
          })
        : doc.createNode({
            name: p.name,
            url: s.url,
            ...(Object.keys(s.headers).length > 0 ? { headers: { ...s.headers } } : {}),
            prefix: p.prefix,
          });
    const server = p.found.server;
    if (server)
      (entry.get("name", true) as Node).comment =
        ` ${oneLine(`${server.name} ${server.version}`, 80)}`;
    const args = entry.get("args", true);
    if (isSeq(args)) args.flow = true;
    const cwd = entry.get("cwd", true) as Node | undefined;
    if (cwd)
      cwd.comment = " where warden init started it: relative paths in args resolve from here";
    else if (s.kind === "stdio")
      (entry.get("command", true) as Node).comment =
        " started in this file's folder: relative paths in args resolve from here";
    (entry.get("prefix", true) as Node).comment = p.prefix
      ? ` several upstreams: its tools are ${p.name}__<tool>, its resources ${p.name}+<uri> (as policy.yaml names them)`
      : " one upstream: its tools keep their names (as policy.yaml names them); with a second one, set prefix: true and rename them in policy.yaml";
    list.items.push(entry);
  }
  return doc.toString(TO_STRING);
}

function toolsSection(doc: Document, plans: readonly UpstreamPlan[]): YAMLMap {
  const allow = new YAMLSeq<Node>();
  const deny = new YAMLSeq<Node>();
  const commented: string[] = [];
  const refused: string[] = [];
  for (const p of plans) {
    const decide = p.tools.filter((t) => t.verdict === "decide");
    let first = true;
    for (const t of p.tools.filter((x) => x.verdict === "allow")) {
      const node = doc.createNode(rule(t)) as Node;
      if (first) node.commentBefore = ` ${p.name}: read-only by their annotations`;
      first = false;
      const notes = [
        t.description,
        t.unconstrained.length > 0
          ? `(${t.unconstrained.join(", ")}: not constrained, the server was given no directory)`
          : "",
      ].filter((x) => x !== "");
      if (notes.length > 0) {
        const at = isMap(node) ? (node.get("name", true) as Node) : node;
        at.comment = ` ${oneLine(notes.join(" "))}`;
      }
      allow.items.push(node);
    }
    for (const t of p.tools.filter((x) => x.verdict === "deny")) {
      const node = doc.createNode(t.pattern) as Node;
      node.comment = ` ${oneLine(`${t.why}: ${t.description}`)}`;
      deny.items.push(node);
    }
    if (decide.length > 0) {
      commented.push(
        ` ${p.name}: for you to decide (not annotated read-only or destructive); uncomment what a client may call:`,
        ...decide.map((t) => commentedEntry(rule(t), oneLine(`${t.why}: ${t.description}`))),
      );
    }
    for (const t of p.tools.filter((x) => x.verdict === "refused"))
      refused.push(` ${oneLine(`${t.name}: ${t.why}`, 200)}`);
  }
  const tools = doc.createNode({}) as YAMLMap;
  if (allow.items.length > 0) {
    tools.set("allow", allow);
    if (commented.length > 0) appendComment(allow, commented.join("\n"));
  } else if (commented.length > 0) {
    appendComment(tools, ` allow:\n${indent(commented.join("\n"), 2)}`);
  }
  if (deny.items.length > 0) tools.set("deny", deny);
  if (refused.length > 0)
    appendComment(
      tools,
      [
        " Not written as rules (the policy refuses these names, so the gateway denies them):",
        ...refused,
      ].join("\n"),
    );
  return tools;
}

/** Prompts and resources carry no annotations: all are listed, commented out. */
function listedSection(
  key: "prompts" | "resources",
  plans: readonly UpstreamPlan[],
): string | undefined {
  const lines: string[] = [];
  for (const p of plans) {
    if (key === "prompts")
      for (const x of p.prompts) lines.push(commentedEntry({ name: x.pattern }, x.description));
    else {
      for (const x of p.resources.slice(0, MAX_LISTED_RESOURCES))
        lines.push(commentedEntry({ uri: x.uri }, x.description));
      if (p.resources.length > MAX_LISTED_RESOURCES)
        lines.push(` ... and ${p.resources.length - MAX_LISTED_RESOURCES} more from ${p.name}`);
    }
  }
  if (lines.length === 0) return undefined;
  const what =
    key === "prompts"
      ? " Prompts carry no annotations: uncomment those a client may get."
      : " Resources: uncomment those a client may read (a glob such as file:///dir/** covers a tree).";
  return [what, ` ${key}:`, "   allow:", indent(lines.join("\n"), 4)].join("\n");
}

/** policy.yaml: storage for the servers' directories, transports, tools, prompts, resources. */
export function policyYaml(plans: readonly UpstreamPlan[], o: WriteOptions): string {
  const dirs = [...new Set(plans.flatMap((p) => p.directories))];
  const hosts = [
    ...new Set(
      plans.flatMap((p) =>
        p.found.spec.kind === "http" ? [new URL(p.found.spec.url).hostname] : [],
      ),
    ),
  ];
  const doc = new Document({
    version: "1.0",
    description: `Written by warden init for ${plans.map((p) => p.name).join(", ")}`,
  });
  doc.commentBefore = [
    schemaLine(o.dir, "policy.schema.json"),
    "",
    " What an MCP client may do through the gateway (warden.yaml). Anything not allowed is denied.",
    " Written by `warden init` from what each server listed:",
    header(plans),
    " Tools were sorted by their annotations, which are the server's own claims: read-only ones are",
    " allowed, destructive ones denied, the others are listed commented out for you to decide.",
    " Path arguments are held to the directories the server was given (a call must name one).",
    " Reference: docs/policy.md. Check: warden gateway --check --config warden.yaml",
  ].join("\n");
  if (dirs.length > 0) {
    const storage = doc.createNode({
      allow: dirs.map((d) => ({ uri: `${d}/**`, access: ["read"] })),
    }) as YAMLMap;
    storage.commentBefore =
      " The directories the servers were given: roots a client announces are passed on only inside them.";
    const rules = storage.get("allow", true);
    if (isSeq(rules))
      for (const n of rules.items) {
        const access = isMap(n) ? n.get("access", true) : undefined;
        if (isSeq(access)) access.flow = true;
      }
    doc.set("storage", storage);
  }
  const transport: Record<string, unknown> = { stdio: true };
  if (hosts.length > 0) transport.http = { allowed_hosts: hosts };
  const mcp = doc.createNode({ transport }) as YAMLMap;
  const t = mcp.get("transport", true) as unknown as YAMLMap;
  (t.get("stdio", true) as Node).comment =
    " the client reaches the gateway over stdio, and command upstreams are started";
  if (hosts.length > 0)
    (t.get("http", true) as Node).comment = " the hosts of the HTTP upstreams' URLs";
  const tools = toolsSection(doc, plans);
  if (tools.items.length > 0) mcp.set("tools", tools);
  else if (tools.comment) appendComment(mcp, ` tools:\n${indent(tools.comment, 2)}`);
  for (const key of ["prompts", "resources"] as const) {
    const text = listedSection(key, plans);
    if (text !== undefined) appendComment(mcp, text);
  }
  doc.set("mcp", mcp);
  if (!isMap(doc.contents)) throw new Error("policy is a mapping");
  return doc.toString(TO_STRING);
}
