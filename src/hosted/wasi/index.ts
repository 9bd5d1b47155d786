/**
 * The policy-checked WASI host, as the component worker asks for it (../host-seam.ts):
 * `createHostImports(options, emit)` compiles the policy files inside the worker (every one
 * must allow a host call: the gateway's and the component's own, Warden's or Wassette's
 * format), gives the component the directories their storage rules name (preopens.ts), the
 * environment keys they allow, and reports every judged host call as a `decision` event
 * (a refusal's reason says what was refused and what to add).
 */
import { readFileSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import type { CreateHostImports, HostDecisionEvent, ProvidedImports } from "../host-seam.js";
import { describeDenial } from "./crossing.js";
import type { WasiCallEvent } from "./events.js";
import { createWasiHost } from "./host.js";
import type { HostPolicyInput } from "./policies.js";
import { storageDirs } from "./preopens.js";

/** Every interface the WASI host provides (unversioned). */
export const PROVIDED_IMPORTS: ProvidedImports = Object.freeze([
  "wasi:cli/environment",
  "wasi:cli/exit",
  "wasi:cli/stdin",
  "wasi:cli/stdout",
  "wasi:cli/stderr",
  "wasi:cli/terminal-input",
  "wasi:cli/terminal-output",
  "wasi:cli/terminal-stdin",
  "wasi:cli/terminal-stdout",
  "wasi:cli/terminal-stderr",
  "wasi:clocks/monotonic-clock",
  "wasi:clocks/wall-clock",
  "wasi:random/random",
  "wasi:random/insecure",
  "wasi:random/insecure-seed",
  "wasi:io/error",
  "wasi:io/poll",
  "wasi:io/streams",
  "wasi:filesystem/types",
  "wasi:filesystem/preopens",
  "wasi:http/types",
  "wasi:http/outgoing-handler",
  "wasi:sockets/network",
  "wasi:sockets/instance-network",
  "wasi:sockets/ip-name-lookup",
  "wasi:sockets/tcp-create-socket",
  "wasi:sockets/tcp",
  "wasi:sockets/udp-create-socket",
  "wasi:sockets/udp",
]);

const TARGET_MAX = 512;

/** The seam's event for one of the host's. */
export function toDecisionEvent(e: WasiCallEvent): HostDecisionEvent {
  const a = e.action as Record<string, unknown> | undefined;
  let target = "";
  if (a !== undefined) {
    const port = typeof a.port === "number" ? `:${a.port}` : "";
    target = String(a.uri ?? a.url ?? (a.host !== undefined ? `${a.host}${port}` : (a.key ?? "")));
  } else if (e.hidden !== undefined) target = e.hidden.join(",");
  const out: Record<string, unknown> = {
    kind: "decision",
    component: e.component,
    function: `${e.interface}.${e.function}`,
    target: target.length > TARGET_MAX ? `${target.slice(0, TARGET_MAX)}…` : target,
    decision: e.decision === "allow" ? "allow" : "block",
    reason: e.decision === "deny" ? describeDenial(e) : (e.reason ?? "allowed by the policies"),
    micros: Math.round(e.duration_ns / 1000),
    // Beyond the seam's fields: what the audit line can carry too.
    code: e.code,
  };
  if (e.rule !== undefined) out.rule = e.rule;
  if (e.rule_id !== undefined) out.rule_id = e.rule_id;
  if (e.wasi_error !== undefined) out.wasi_error = e.wasi_error;
  if (e.hint !== undefined) out.hint = e.hint;
  return out as unknown as HostDecisionEvent;
}

export const createHostImports: CreateHostImports = (options, emit) => {
  const files = options.policies.map((p) => (isAbsolute(p) ? p : resolve(options.baseDir, p)));
  const sources = files.map((f) => readFileSync(f, "utf8"));
  const inputs: HostPolicyInput[] = files.map((file, i) => ({
    source: sources[i]!,
    file,
    format: "auto",
  }));
  const preopens: Record<string, string> = {};
  for (const s of sources) for (const d of storageDirs(s)) preopens[d] = d;
  const host = createWasiHost({
    component: options.componentName,
    // No policy file: nothing is granted (the host with no policy denies every judged call).
    ...(inputs[0] !== undefined ? { policy: inputs[0] } : {}),
    extraPolicies: inputs.slice(1),
    preopens,
    environment: process.env,
    emit: (e) => emit(toDecisionEvent(e)),
    emitAllowed: true,
  });
  return {
    imports: host.importObject(options.imports),
    afterCall: () => {
      host.takeDenials();
    },
  };
};
