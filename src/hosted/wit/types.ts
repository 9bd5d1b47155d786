/**
 * The WIT value types of a component's exported functions, as Warden reads them from the WIT
 * text wasm-tools prints for the component (`componentWit`, the component's own type section).
 */
export type WitType =
  | { readonly kind: "prim"; readonly name: PrimName }
  | { readonly kind: "list"; readonly of: WitType; readonly length?: number }
  | { readonly kind: "option"; readonly of: WitType }
  | { readonly kind: "result"; readonly ok?: WitType; readonly err?: WitType }
  | { readonly kind: "tuple"; readonly of: readonly WitType[] }
  | { readonly kind: "record"; readonly name: string; readonly fields: readonly WitField[] }
  | { readonly kind: "variant"; readonly name: string; readonly cases: readonly WitCase[] }
  | { readonly kind: "enum"; readonly name: string; readonly cases: readonly WitNamed[] }
  | { readonly kind: "flags"; readonly name: string; readonly flags: readonly WitNamed[] }
  | { readonly kind: "handle"; readonly name: string; readonly how: "own" | "borrow" }
  | { readonly kind: "unsupported"; readonly name: string };

export type PrimName =
  | "bool"
  | "u8"
  | "u16"
  | "u32"
  | "u64"
  | "s8"
  | "s16"
  | "s32"
  | "s64"
  | "f32"
  | "f64"
  | "char"
  | "string";

export interface WitNamed {
  readonly name: string;
  readonly docs?: string;
}

export interface WitField extends WitNamed {
  readonly type: WitType;
}

export interface WitCase extends WitNamed {
  readonly type?: WitType;
}

export interface WitParam {
  readonly name: string;
  readonly type: WitType;
}

/** One exported function: `interface.function` (or a world-level `function`). */
export interface WitFunction {
  /** The export's interface as the component names it (`local:weather/api`), or null at world level. */
  readonly interface: string | null;
  /** The interface's short name (`api`), or null at world level. */
  readonly interfaceShort: string | null;
  readonly name: string;
  readonly docs?: string;
  readonly interfaceDocs?: string;
  readonly params: readonly WitParam[];
  readonly result?: WitType;
  readonly async: boolean;
}
