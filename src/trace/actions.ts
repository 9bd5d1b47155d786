/**
 * What a traced operation means to the policy: the one place that maps an operation the agent
 * saw (a file read, a connect, a spawn) to a policy action, and a policy decision back to a
 * verdict on the lattice (docs/trace.md, "What is judged"). The process policy sections
 * (commands, nodejs, python, protocols) extend `ACTIONS` and `verdictOf` here.
 */
import type { Verdict } from "../core/decision.js";
import type { Action, PolicyDecision } from "../policy/types.js";

/** The kinds of operation the agents report. */
export type OpKind =
  | "read"
  | "write"
  | "connect"
  | "http"
  | "dns"
  | "env"
  | "exec"
  | "worker"
  | "dlopen";

/** One operation as the agent saw it, before it runs. */
export interface Op {
  readonly kind: OpKind;
  /** A canonical absolute path, a host, a URL, an env key or an executable. */
  readonly target: string;
  readonly port?: number;
  readonly method?: string;
  readonly argv?: readonly string[];
}

/** The policy section each kind is judged by; a kind absent from the policy is not judged. */
export const SECTION_OF: Readonly<Record<OpKind, string | null>> = {
  read: "storage",
  write: "storage",
  connect: "network",
  http: "network",
  dns: "network",
  env: "environment",
  // `commands` (the process sections): the executable's absolute path and its argv.
  exec: "commands",
  // No section judges these yet: reported (display), not judged.
  worker: null,
  dlopen: null,
};

/** The policy action for an operation, or null when no section judges its kind. */
export function actionFor(op: Op): Action | null {
  switch (op.kind) {
    case "read":
      return { kind: "storage.read", uri: op.target };
    case "write":
      return { kind: "storage.write", uri: op.target };
    case "connect":
    case "dns":
      return op.port === undefined
        ? { kind: "network.connect", host: op.target }
        : { kind: "network.connect", host: op.target, port: op.port };
    case "http":
      return op.method === undefined
        ? { kind: "http.request", url: op.target }
        : { kind: "http.request", url: op.target, method: op.method };
    case "env":
      return { kind: "env.read", key: op.target };
    case "exec":
      return {
        kind: "command.exec",
        path: op.target,
        argv: op.argv ?? [op.target],
      } as unknown as Action;
    default:
      return null;
  }
}

/**
 * The verdict on an operation from the policy's decision. An allowed call is `allow`; a denied
 * one `block`, except where a default deny would be noise: a DNS lookup is only blocked by a
 * deny rule (the connect that follows is judged with its port), and an environment read only
 * when a rule names the key (reads of keys the policy does not name are not judged). A decision
 * that carries its own `verdict` (the process sections: review, warn, log) keeps it.
 */
export function verdictOf(op: Op, d: PolicyDecision): Verdict {
  const own = (d as { verdict?: unknown }).verdict;
  if (typeof own === "string" && isLattice(own)) return own;
  if (d.allowed) return "allow";
  if ((op.kind === "dns" || op.kind === "env") && d.code !== "deny_rule") return "allow";
  return "block";
}

/** The verdict on operations no section judges (`actionFor` gave null): shown, not stopped. */
export function unjudgedVerdict(op: Op): Verdict {
  return op.kind === "exec" || op.kind === "worker" || op.kind === "dlopen" ? "display" : "allow";
}

function isLattice(v: string): v is Verdict {
  return (
    v === "allow" ||
    v === "suppress" ||
    v === "display" ||
    v === "warn" ||
    v === "review" ||
    v === "block"
  );
}
