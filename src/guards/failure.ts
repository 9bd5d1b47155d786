import { isWardenError } from "../core/errors.js";

/** A guard failure in two words and a sentence: the sandbox's code (timeout, trap...) or `threw`. */
export function describeFailure(error: unknown): { code: string; message: string } {
  if (isWardenError(error)) return { code: error.code, message: oneLine(error.message) };
  if (error instanceof Error) return { code: "threw", message: oneLine(error.message) };
  return { code: "threw", message: oneLine(String(error)) };
}

function oneLine(s: string): string {
  const t = s.replace(/\s*\n\s*/g, " ");
  return t.length > 300 ? `${t.slice(0, 297)}...` : t;
}
