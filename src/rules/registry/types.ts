/** The registry's public shapes (the seed's API bodies: docs/admin.md). */
import type { Evaluation } from "../../sandbox/index.js";
import type { StoredPlugin } from "./store.js";

/** What registering takes (POST /v1/wasm/plugins). */
export interface RegisterInput {
  readonly name: string;
  readonly bytes: Uint8Array;
  readonly description?: string | null;
  readonly memory_limit_bytes?: number;
  readonly timeout_ms?: number;
  readonly enabled?: boolean;
}

/** The body of a 201 (the seed's). */
export interface RegisteredPlugin {
  readonly name: string;
  readonly description: string | null;
  readonly enabled: boolean;
  readonly memory_limit_bytes: number;
  readonly timeout_ms: number;
  readonly registered_at: string;
}

/** One plugin as listed: its configuration and its counters. */
export interface PluginInfo extends RegisteredPlugin {
  readonly invocation_count: number;
  readonly last_invoked_at: string | null;
  /** "api": registered over the API and kept under state.dir; "plugin_dir": found at start. */
  readonly source: "api" | "plugin_dir";
  readonly sha256: string;
  readonly size_bytes: number;
}

/** A plugin invocation's result: the sandbox's evaluation (verdict, message, metadata, ...). */
export type Invocation = Evaluation;

/** What the registry reports, for metrics (the admin layer's prom-client counters). */
export interface RegistryObserver {
  invoked?(plugin: string, ok: boolean, durationUs: number, code?: string): void;
  /** A plugin was deleted (its per-plugin series can go). */
  deleted?(plugin: string): void;
  /** Plugins registered and the memory their instances hold, after any change. */
  changed?(count: number, memoryBytes: number): void;
}

/** A pino-compatible logger (the seed's event names go in `event`). */
export interface RegistryLog {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** `wasm:` of warden.yaml, as the registry takes it. */
export interface RegistryOptions {
  /** state.dir: plugins registered over the API are kept in `<dir>/plugins/`; absent: memory only. */
  readonly stateDir?: string;
  /** wasm.plugin_dir: every `<name>.wasm` in it is registered at start, with the defaults. */
  readonly pluginDir?: string;
  /** wasm.default_memory_limit_bytes (default 16 MiB). */
  readonly defaultMemoryLimitBytes?: number;
  /** wasm.default_timeout_ms (default 100). */
  readonly defaultTimeoutMs?: number;
  /** Where instrumented modules are cached (the sandbox's cacheDir; false: none). */
  readonly cacheDir?: string | false;
  readonly log?: RegistryLog;
  readonly observer?: RegistryObserver;
  /**
   * invocation_count and last_invoked_at are written under state.dir at most once per this many
   * ms (default 1000) and on close().
   */
  readonly countsFlushMs?: number;
  /** The clock (tests). */
  readonly now?: () => Date;
  /** Shared with other instances (state.redis: the admin layer's SharedRegistry); absent: alone. */
  readonly share?: RegistryShare;
}

/** One API plugin's configuration as instances share it: the same entry the store keeps on disk. */
export type SharedPlugin = StoredPlugin;

/**
 * What the registry tells the instances it shares its API plugins with, and asks of them. A
 * change is refused (the method throws) when it cannot be shared: it is then not made here either.
 */
export interface RegistryShare {
  /** Throws when changes cannot be shared now (e.g. Redis down): checked before any work. */
  ready(what: string): void;
  /** A plugin registered here (compiled and checked): publish it. */
  published(p: SharedPlugin, bytes: Uint8Array): Promise<void>;
  /** An API plugin enabled or disabled here. */
  updated(p: SharedPlugin): Promise<void>;
  /** An API plugin deleted here. */
  deleted(name: string): Promise<void>;
  /** The invocations of plugin `name` (module `sha256`) in all instances, given this one's count. */
  count?(name: string, sha256: string, local: number): number;
  /** The latest last_invoked_at of plugin `name` (module `sha256`) in all instances. */
  last?(name: string, sha256: string, local: string | null): string | null;
}
