/**
 * The audit lines a test's gateway wrote, each checked against docs/audit.schema.json with ajv:
 * a line that does not match the documented shape fails the test that reads it.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Ajv2020 } from "ajv/dist/2020.js";
import { ROOT } from "./helpers.js";

const schema = JSON.parse(readFileSync(join(ROOT, "docs/audit.schema.json"), "utf8")) as object;
const validate = new Ajv2020({ allErrors: true, strict: true, strictRequired: false }).compile(
  schema,
);

export type AuditLine = Record<string, unknown>;

/** Throw naming the line and what is wrong when `line` is not a valid audit line. */
export function checkAuditLine(line: unknown, where = "audit line"): AuditLine {
  if (!validate(line))
    throw new Error(
      `${where} does not match docs/audit.schema.json: ${JSON.stringify(validate.errors)}\n${JSON.stringify(line).slice(0, 2000)}`,
    );
  return line as AuditLine;
}

/** Every line of an audit file (none when it does not exist yet), each validated. */
export function auditLines(file: string): AuditLine[] {
  if (!existsSync(file)) return [];
  const text = readFileSync(file, "utf8");
  // A line still being written (no newline yet) is not read.
  const lines = text
    .slice(0, text.lastIndexOf("\n") + 1)
    .split("\n")
    .filter(Boolean);
  return lines.map((l, i) => checkAuditLine(JSON.parse(l), `${file}:${i + 1}`));
}
