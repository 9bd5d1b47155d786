/**
 * A translated malwi policy as the compiler's source: the Warden document, with every path
 * pointing back into the malwi file (so `file:line` and rule ids name what the user wrote).
 */
import { keyOf, type Path, type PolicySource, type SourceText } from "../source.js";
import type { PolicyError } from "../types.js";
import type { Translated } from "./translate.js";

export class MappedSource implements SourceText {
  readonly file: string;
  readonly value: unknown;
  readonly errors: PolicyError[];
  readonly #base: PolicySource;
  readonly #origin: ReadonlyMap<string, Path>;

  constructor(base: PolicySource, t: Translated) {
    this.#base = base;
    this.file = base.file;
    this.value = t.value;
    this.errors = base.errors;
    this.#origin = t.origin;
  }

  /** The malwi path a Warden path came from (its longest mapped prefix, plus the rest). */
  origin(path: Path): Path {
    for (let i = path.length; i > 0; i--) {
      const hit = this.#origin.get(path.slice(0, i).map(String).join("\u0000"));
      if (hit !== undefined) return i === path.length ? hit : [...hit, ...path.slice(i)];
    }
    return path;
  }

  pos(path: Path, key = false): { line: number; col: number } {
    return this.#base.pos(this.origin(path), key);
  }

  where(path: Path): string {
    return this.#base.where(this.origin(path));
  }

  /** Rule ids name the malwi key (`files.deny[3]`), not the Warden section it became. */
  idOf(path: Path): string {
    return keyOf(this.origin(path));
  }

  error(path: Path, code: string, message: string, key = false): void {
    this.#base.error(this.origin(path), code, message, key);
  }
}
