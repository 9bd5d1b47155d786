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
import type { CreateHostImports, ProvidedImports } from "../host-seam.js";
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
    emit,
    emitAllowed: true,
  });
  return {
    imports: host.importObject(options.imports),
    afterCall: () => {
      host.takeDenials();
    },
  };
};
