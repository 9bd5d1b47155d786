import { type Decision, decide } from "../core/decision.js";
import type { GuardDecision } from "./types.js";

type Deny = Extract<GuardDecision, { kind: "deny" }>;

/** The shared allow decision (frozen, allocated once). */
export const GUARD_ALLOW: GuardDecision = Object.freeze({ kind: "allow" });

export function guardDeny(code: string, message: string, details?: Record<string, unknown>): Deny {
  return details === undefined
    ? { kind: "deny", code, message }
    : { kind: "deny", code, message, details };
}

export function guardModify(payload: unknown, messages?: readonly string[]): GuardDecision {
  return messages === undefined || messages.length === 0
    ? { kind: "modify", payload }
    : { kind: "modify", payload, messages };
}

export function guardWarn(messages: readonly string[]): GuardDecision {
  return { kind: "warn", messages };
}

/** Strictness of a decision kind: allow < warn < modify < deny. */
export const KIND_RANK: Readonly<Record<GuardDecision["kind"], number>> = Object.freeze({
  allow: 0,
  warn: 1,
  modify: 2,
  deny: 3,
});

const CODE_RE = /^[a-z][a-z0-9_.-]{0,63}$/;

/**
 * Check a decision that came from outside Warden (a WebAssembly guard). Returns the decision,
 * or a string saying what is wrong with it (the pipeline turns that into a guard failure).
 */
export function validateDecision(value: unknown): GuardDecision | string {
  if (typeof value !== "object" || value === null) return "the decision is not an object";
  const v = value as Record<string, unknown>;
  switch (v.kind) {
    case "allow":
      return GUARD_ALLOW;
    case "deny": {
      if (typeof v.code !== "string" || !CODE_RE.test(v.code))
        return `deny.code must be a snake_case string of 1 to 64 characters, got ${JSON.stringify(v.code)}`;
      if (typeof v.message !== "string" || v.message.length === 0)
        return "deny.message must be a non-empty string";
      if (
        v.details !== undefined &&
        (typeof v.details !== "object" || v.details === null || Array.isArray(v.details))
      )
        return "deny.details must be a JSON object";
      return guardDeny(
        v.code,
        v.message.slice(0, 2000),
        v.details as Record<string, unknown> | undefined,
      );
    }
    case "modify":
      if (v.payload === undefined) return "modify needs a payload";
      return guardModify(v.payload);
    case "warn": {
      if (!Array.isArray(v.messages) || !v.messages.every((m) => typeof m === "string"))
        return "warn.messages must be a list of strings";
      return guardWarn(v.messages.map((m: string) => m.slice(0, 2000)));
    }
    default:
      return `unknown decision kind ${JSON.stringify(v.kind)} (allow, deny, modify or warn)`;
  }
}

/** A guard's deny as a core block: by the guard, rule `security_guards.<id>`, its code. */
export function blockOf(id: string, d: Deny): Decision {
  return decide("block", d.message, id, {
    rule: `security_guards.${id}`,
    details: { code: d.code, guard: id, ...(d.details ?? {}) },
  });
}
