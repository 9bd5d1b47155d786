import { describe, expect, it } from "vitest";
import { createPii } from "../../../src/guards/builtin/pii.js";
import { luhn, PII_KINDS, type PiiKind, scanPii } from "../../../src/guards/builtin/pii-scan.js";
import { specOf } from "../helpers.js";

const ALL = new Set<PiiKind>(PII_KINDS);
const kinds = (text: string) => scanPii(text, ALL).map((h) => h.kind);

const POSITIVE: [string, PiiKind][] = [
  ["write to jane.doe+work@example.co.uk today", "email"],
  ["contact: ops@mail.acme-corp.io", "email"],
  ["call +1 (415) 555-0132 after 5", "phone"],
  ["UK office +44 20 7946 0958", "phone"],
  ["mobile 415-555-0132", "phone"],
  ["(212) 555-0199 is the desk", "phone"],
  ["card 4111 1111 1111 1111 exp 12/29", "card"],
  ["amex 378282246310005", "card"],
  ["mc 5555-5555-5555-4444", "card"],
  ["ssn 123-45-6789 on file", "national_id"],
  ["NI number AB 12 34 56 C", "national_id"],
  ["aws AKIAIOSFODNN7EXAMPLE here", "api_key"],
  ["token ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789", "api_key"],
  ["stripe sk_live_4eC39HqLyjWDarjtT1zdp7dc", "api_key"],
  ["openai sk-proj-abcdefghijklmnopqrstuvwxyz012345", "api_key"],
  ["slack xoxb-123456789012-abcdefghij", "api_key"],
  ["google AIzaSyA1234567890abcdefghijklmnopqrstuv", "api_key"],
  ['{"api_key": "a8f5f167f44f4964e6c998dee827110c"}', "api_key"],
  ["password=Sup3rS3cretPassw0rd!!", "api_key"],
  [
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----",
    "private_key",
  ],
  ["-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA", "private_key"],
];

/** Near misses: look like PII to a careless pattern, are not. */
const NEGATIVE: string[] = [
  "version 1.2.3.4 released on 2024-01-15",
  "server at 192.168.100.10 port 8080",
  "install react@18.2.0 and vue@3.4.1",
  "git@github.com:org/repo.git is the remote",
  "order 4111 1111 1111 1112 (not Luhn-valid)",
  "invoice 1234567812345678 (Luhn-valid but no card network)",
  "timestamp 1700000000000 ms",
  "ISBN 978-3-16-148410-0",
  "the @decorator syntax and user@localhost",
  "SSN-like 000-12-3456 and 666-12-3456 are never issued",
  "phone extension 555-0132",
  "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkq\n-----END PUBLIC KEY-----",
  "-----BEGIN CERTIFICATE-----",
  "token: string (the session token)",
  "password: ********",
  "api_key: YOUR_API_KEY_HERE",
  "sha 3f786850e387550fdab836ed7e6dc881de23001b",
  "range 100-200-3000 units (no area code starts with 1)",
  "sk-short",
  "AKIA-not-a-key",
];

describe("pii scanner", () => {
  it.each(POSITIVE)("finds %j as %s", (text, kind) => {
    expect(kinds(text)).toContain(kind);
  });

  it.each(NEGATIVE)("stays quiet on the near miss %j", (text) => {
    expect(kinds(text)).toEqual([]);
  });

  it("checks cards with Luhn", () => {
    expect(luhn("4111111111111111")).toBe(true);
    expect(luhn("4111111111111112")).toBe(false);
    expect(luhn("79927398713")).toBe(true);
  });
});

describe("pii guard", () => {
  const inv = {
    method: "tools/call",
    name: "send_email",
    arguments: { to: "jane@example.com", body: { text: "card 4111 1111 1111 1111" }, n: 3 },
  };

  it("blocks by default, naming kinds and paths but never the values", () => {
    const g = createPii(specOf({ id: "pii", type: "pii" }));
    const d = g.evaluate("tool_invoke", inv, { serverName: "mail" });
    expect(d).toMatchObject({ kind: "deny", code: "pii_detected" });
    if (d.kind !== "deny") return;
    expect(d.message).toContain("1 email");
    expect(d.message).toContain("arguments.to");
    expect(d.message).toContain("arguments.body.text");
    expect(d.message).not.toContain("jane@example.com");
    expect(d.message).not.toContain("4111");
  });

  it("redacts in place of each finding, copying only what changed", () => {
    const g = createPii(specOf({ id: "pii", type: "pii", config: { mode: "redact" } }));
    const res = {
      method: "tools/call",
      name: "lookup",
      result: {
        content: [{ type: "text", text: "Mail jane@example.com or call +1 415 555 0132." }],
        meta: { n: 1 },
      },
      isError: false,
    };
    const d = g.evaluate("response", res, { serverName: "crm" });
    expect(d.kind).toBe("modify");
    if (d.kind !== "modify") return;
    const out = d.payload as typeof res;
    expect(out.result.content[0]!.text).toBe("Mail [REDACTED:email] or call [REDACTED:phone].");
    expect(out.result.meta).toBe(res.result.meta);
    expect(res.result.content[0]!.text).toContain("jane@example.com");
  });

  it("honours kinds and allow", () => {
    const g = createPii(specOf({ id: "pii", type: "pii", config: { kinds: ["card"], allow: [] } }));
    expect(
      g.evaluate(
        "tool_invoke",
        { ...inv, arguments: { to: "jane@example.com" } },
        { serverName: "m" },
      ).kind,
    ).toBe("allow");
    const h = createPii(
      specOf({ id: "pii", type: "pii", config: { allow: ["jane@example.com"] } }),
    );
    expect(
      h.evaluate(
        "tool_invoke",
        { ...inv, arguments: { to: "jane@example.com" } },
        { serverName: "m" },
      ).kind,
    ).toBe("allow");
  });
});
