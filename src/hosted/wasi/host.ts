/**
 * The WASI host a hosted component runs against, inside the component's worker thread: the
 * import object for jco's `instantiate` (WASI 0.2), every capability judged by the policy.
 *
 * ```ts
 * const host = createWasiHost({ component: "weather", policy: { path: "p.yaml" },
 *   grants: { path: "weather-policy.yaml", format: "auto" }, preopens: { "/data": "/srv/data" },
 *   environment: process.env, emit: (e) => parentPort.postMessage(e) });
 * const imports = host.importObject(transpiled.imports); // refuses an interface it does not provide
 * ```
 *
 * Interfaces provided (all else is refused at load, naming it): wasi:filesystem/{types,
 * preopens} (filesystem.ts), wasi:http/{types, outgoing-handler} (http.ts), wasi:sockets/{network,
 * instance-network, ip-name-lookup, tcp, tcp-create-socket, udp, udp-create-socket}
 * (sockets.ts), wasi:cli/*, wasi:clocks/*, wasi:random/*, wasi:io/* (basics.ts).
 */
import { statSync } from "node:fs";
import { WardenError } from "../../core/errors.js";
import type { Strategy } from "../../core/strategy.js";
import { canonicalPathOf } from "../../policy/canon/path.js";
import { resolveRealPathSync } from "../../policy/io.js";
import { basicImports } from "./basics.js";
import { Crossings, type HostFunctionMetrics, type WasiCallMeta } from "./crossing.js";
import type { EmitHostEvent, WasiCallEvent } from "./events.js";
import { Descriptor, filesystemImports, preopenDescriptor } from "./filesystem.js";
import { httpImports } from "./http.js";
import { compileHostPolicy, type HostPolicy, type HostPolicyInput } from "./policies.js";
import { type Lookup, socketImports } from "./sockets.js";
import { flushBeforeWaits } from "./waits.js";

export interface WasiHostOptions {
  /** The component's name: the `source` of every crossing, and in every event. */
  readonly component: string;
  /** The policy in force (the gateway's or `warden serve --policy`). */
  readonly policy?: HostPolicyInput;
  /** The component's own grants (a Warden or Wassette policy file): both must allow. */
  readonly grants?: HostPolicyInput;
  /** More policies that must all allow too (the seam hands every policy file it has). */
  readonly extraPolicies?: readonly HostPolicyInput[];
  /**
   * Directories the component sees: guest path → host path. Each is resolved (symbolic
   * links) and kept only when every policy allows reading or writing the directory itself.
   */
  readonly preopens?: Readonly<Record<string, string>>;
  /** The environment the component may see the allowed keys of (default: none). */
  readonly environment?: Readonly<Record<string, string | undefined>>;
  /** `wasi:cli/environment.get-arguments` (default: the component's name). */
  readonly arguments?: readonly string[];
  /** Host name resolution for wasi:http's address check (default: the system's, synchronous). */
  readonly lookup?: Lookup;
  /** Strategies after the policy in every host call's chain (a firewall, logging...). */
  readonly strategies?: readonly Strategy<WasiCallMeta>[];
  /** Where events go (the worker posts them to the main thread). */
  readonly emit?: EmitHostEvent;
  /** Emit allowed calls too (default: refusals, and environment listings that hid keys). */
  readonly emitAllowed?: boolean;
}

export interface WasiHost {
  readonly component: string;
  /** Every interface the host provides, by unversioned name (as jco's glue asks for them). */
  readonly imports: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  /** The preopens kept: guest path and real host path. */
  readonly preopens: readonly { readonly guestPath: string; readonly hostPath: string }[];
  /** The import object for a component importing `names` (versioned or not); refuses others. */
  importObject(names: readonly string[]): Record<string, Readonly<Record<string, unknown>>>;
  /** Refusals since the last call: for the tool's answer (what was refused, what to add). */
  takeDenials(): WasiCallEvent[];
  /** Per host function: calls, refusals, errors, latency. */
  metrics(): HostFunctionMetrics[];
  readonly crossings: Crossings;
}

/** `wasi:filesystem/types@0.2.3` → `wasi:filesystem/types`. */
export function unversioned(name: string): string {
  const at = name.indexOf("@");
  return at < 0 ? name : name.slice(0, at);
}

export function createWasiHost(opts: WasiHostOptions): WasiHost {
  const policies: HostPolicy[] = [];
  if (opts.policy !== undefined) policies.push(compileHostPolicy(opts.policy, "policy"));
  if (opts.grants !== undefined)
    policies.push(
      compileHostPolicy({ format: "auto", ...opts.grants } as HostPolicyInput, "component grants"),
    );
  for (const [i, p] of (opts.extraPolicies ?? []).entries())
    policies.push(compileHostPolicy(p, `policy #${i + 2}`));
  const crossings = new Crossings(opts.component, policies, {
    ...(opts.strategies ? { strategies: opts.strategies } : {}),
    ...(opts.emit ? { emit: opts.emit } : {}),
    ...(opts.emitAllowed !== undefined ? { emitAllowed: opts.emitAllowed } : {}),
  });
  const ctx = { crossings };
  const kept: { guestPath: string; hostPath: string }[] = [];
  const descriptors: [Descriptor, string][] = [];
  for (const [guestPath, hostPath] of Object.entries(opts.preopens ?? {})) {
    const canon = canonicalPathOf(hostPath, false);
    const real =
      canon === undefined
        ? { refused: "not a canonical absolute path" }
        : resolveRealPathSync(canon);
    const fn = "preopen";
    const iface = "wasi:filesystem/preopens";
    if (typeof real !== "string" || !isDirectory(real)) {
      crossings.refuse(
        iface,
        fn,
        { kind: "storage.read", uri: hostPath },
        `preopen ${guestPath} -> ${hostPath} is not a directory Warden can resolve${typeof real === "string" ? "" : ` (${real.refused})`}`,
        "not-permitted",
      );
      continue;
    }
    const read = crossings.judge({ kind: "storage.read", uri: real });
    const write = crossings.judge({ kind: "storage.write", uri: real });
    if (!read.decision.allowed && !write.decision.allowed) {
      crossings.refuse(
        iface,
        fn,
        { kind: "storage.read", uri: real },
        `preopen ${guestPath} -> ${real}: ${read.decision.reason}`,
        "access",
        read,
      );
      continue;
    }
    kept.push({ guestPath, hostPath: real });
    descriptors.push([preopenDescriptor(real, ctx), guestPath]);
  }
  let env: (readonly [string, string])[] | undefined;
  let envEvent: WasiCallEvent | undefined;
  // Judged once per instance (the policies and the environment do not change under it); each
  // get-environment call is reported (an audit line each): the keys given, the keys hidden.
  const visibleEnv = () => {
    if (env === undefined || envEvent === undefined) {
      const t0 = performance.now();
      env = [];
      const hidden: string[] = [];
      let first: ReturnType<Crossings["judge"]> | undefined;
      let allowed: ReturnType<Crossings["judge"]> | undefined;
      for (const [k, v] of Object.entries(opts.environment ?? {})) {
        if (v === undefined) continue;
        const j = crossings.judge({ kind: "env.read", key: k });
        if (j.decision.allowed) {
          env.push([k, v]);
          allowed ??= j;
        } else {
          hidden.push(k);
          first ??= j;
        }
      }
      const given = env.map(([k]) => k);
      const decided = first ?? allowed;
      const ev: Record<string, unknown> = {
        kind: "decision",
        component: opts.component,
        interface: "wasi:cli/environment",
        function: "get-environment",
        target: given.join(",").slice(0, 512),
        decision: "allow",
        code: decided?.decision.code ?? "no_rule",
        reason:
          hidden.length > 0
            ? `${given.length} environment key(s) given; ${hidden.length} hidden: no policy rule allows ${hidden.slice(0, 10).join(", ")}`
            : `${given.length} environment key(s) given, none hidden`,
        by: "policy",
        micros: Math.round((performance.now() - t0) * 1e6) / 1000,
      };
      if (hidden.length > 0) ev.hidden = hidden.slice(0, 1000);
      if (decided?.rule !== undefined) ev.rule = decided.rule;
      if (first?.hint !== undefined) ev.hint = first.hint;
      envEvent = ev as unknown as WasiCallEvent;
    }
    crossings.note(envEvent);
    return env;
  };
  flushBeforeWaits((opts.emit as { flush?: () => void } | undefined)?.flush);
  const imports: Record<string, Record<string, unknown>> = {
    ...basicImports(crossings, visibleEnv, {
      ...(opts.environment ? { environment: opts.environment } : {}),
      ...(opts.arguments ? { arguments: opts.arguments } : {}),
    }),
    ...filesystemImports(ctx, descriptors),
    ...httpImports(crossings, opts.lookup),
    ...socketImports(crossings),
  };
  for (const v of Object.values(imports)) Object.freeze(v);
  Object.freeze(imports);
  return {
    component: opts.component,
    imports,
    preopens: Object.freeze(kept.map((k) => Object.freeze(k))),
    importObject(names) {
      const out: Record<string, Readonly<Record<string, unknown>>> = {};
      const missing: string[] = [];
      for (const n of names) {
        const i = imports[unversioned(n)];
        if (i === undefined) missing.push(n);
        else out[n] = i;
      }
      if (missing.length > 0)
        throw new WardenError(
          "hosted_import_refused",
          `Component "${opts.component}" imports ${missing.join(", ")}, which Warden's WASI host does not provide (it provides ${Object.keys(
            imports,
          )
            .filter((k) => !k.includes("terminal"))
            .join(", ")}).`,
          { category: "plugin", details: { component: opts.component, imports: missing } },
        );
      return out;
    },
    takeDenials: () => crossings.takeDenials(),
    metrics: () => crossings.metrics(),
    crossings,
  };
}

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

export { Descriptor };
