/** Types of scripts/gen-validators.mjs (for its test). */
export declare const BASE: string;
export declare const OUT: URL;
export declare const AJV_OPTIONS: Readonly<Record<string, boolean>>;
export declare const ANNOTATIONS: readonly string[];
export declare const REFS: Readonly<Record<string, string>>;
export declare function generateValidators(): string;
export declare const BUILTIN_KEYS: readonly string[];
export declare function topSchema(keys: readonly string[]): Record<string, unknown>;
