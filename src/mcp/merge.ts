/** Merging what several upstreams say into one answer, and rewriting names inside results. */
import type { Naming } from "./naming.js";

type Obj = Record<string, unknown>;

/** One upstream's initialize result, by upstream name. */
export interface InitResult {
  upstream: string;
  result: Obj;
}

/** Capabilities: the union of every upstream's (objects merged, flags OR-ed). */
function mergeCaps(list: Obj[]): Obj {
  const out: Obj = {};
  for (const caps of list)
    for (const [k, v] of Object.entries(caps)) {
      if (typeof v === "object" && v !== null && !Array.isArray(v)) {
        const prev = (out[k] as Obj | undefined) ?? {};
        const merged: Obj = { ...prev };
        for (const [kk, vv] of Object.entries(v as Obj))
          merged[kk] = vv === true || prev[kk] === true ? true : (vv ?? prev[kk]);
        out[k] = merged;
      } else out[k] = v;
    }
  return out;
}

export function mergeInitialize(results: readonly InitResult[], version: string): Obj {
  if (results.length === 1) return results[0]!.result;
  const out: Obj = {
    protocolVersion: results[0]!.result.protocolVersion,
    capabilities: mergeCaps(results.map((r) => (r.result.capabilities as Obj) ?? {})),
    serverInfo: {
      name: "warden-gateway",
      version,
      title: `Warden gateway (${results.map((r) => r.upstream).join(", ")})`,
    },
  };
  const instr = results
    .filter((r) => typeof r.result.instructions === "string")
    .map((r) => `[${r.upstream}] ${r.result.instructions as string}`);
  if (instr.length > 0) out.instructions = instr.join("\n\n");
  return out;
}

/** Rewrite resource URIs inside content blocks (tool results, prompt messages) to public ones. */
export function publicContent(naming: Naming, upstream: string, content: unknown): unknown {
  if (!Array.isArray(content)) return content;
  return content.map((c: Obj) => {
    if (c === null || typeof c !== "object") return c;
    if (c.type === "resource_link" && typeof c.uri === "string")
      return { ...c, uri: naming.publicUri(upstream, c.uri) };
    if (c.type === "resource" && typeof c.resource === "object" && c.resource !== null) {
      const r = c.resource as Obj;
      if (typeof r.uri === "string")
        return { ...c, resource: { ...r, uri: naming.publicUri(upstream, r.uri) } };
    }
    return c;
  });
}

/** Which capability an upstream needs to be asked a list method (when several are merged). */
export function capabilityFor(method: string): string | undefined {
  if (method.startsWith("tools/")) return "tools";
  if (method.startsWith("prompts/")) return "prompts";
  if (method.startsWith("resources/")) return "resources";
  if (method === "logging/setLevel") return "logging";
  if (method === "completion/complete") return "completions";
  return undefined;
}
