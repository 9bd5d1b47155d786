/**
 * The plugin registry shared by several instances through Redis (`state.redis`; docs/admin.md,
 * "Several instances"). Plugins uploaded over the API are published: the module's bytes under
 * `<prefix>registry:module:<sha256>` (at most the registry's module size limit), the index as
 * the hash `<prefix>registry:index` (plugin name -> its configuration as JSON). Every instance
 * reads the index every `syncMs`: a plugin it does not have, or whose module changed, is fetched
 * (size and sha256 checked) and compiled off the event loop as an upload is; one deleted
 * elsewhere is dropped; enabled follows. Invocation counts are summed across instances: each
 * pushes what it counted since the last push (`<prefix>registry:counts`, field
 * `<name>@<sha256>`) and lists the total; last_invoked_at is the latest of all instances'
 * (`<prefix>registry:last`). A push is idempotent: it carries this instance's id and a sequence
 * number, recorded in `<prefix>registry:pushes` by the same script, and a push whose answer
 * was lost (a command timeout after Redis applied it) is sent again as it was and applied once.
 * Entries and modules planted in Redis by another client are checked before use: an entry that
 * is not a plugin entry, a module missing, past the size limit (read with a bounded GETRANGE)
 * or not matching its sha256 is skipped with a log line naming the key.
 * `wasm.plugin_dir` plugins are each instance's own.
 *
 * Redis down: the registry keeps serving (and counting) what it has; uploads, deletes and
 * enable/disable are refused with `state_unavailable` saying why; the next sync catches up.
 */
import { randomUUID } from "node:crypto";
import { WardenError } from "../core/errors.js";
import {
  MAX_MODULE_BYTES,
  MAX_PLUGINS,
  type PluginRegistry,
  type RegistryLog,
  type RegistryShare,
  type SharedPlugin,
} from "../rules/registry/index.js";
import type { RedisState } from "../state/index.js";

/** How often the index is read and the counts pushed (ms). */
export const SHARED_SYNC_MS = 1000;

/**
 * Entries read at most from the shared hashes: the index (instances write at most MAX_PLUGINS;
 * twice that leaves room for uploads racing on two instances) and the counts and last-invoked
 * hashes (one field per plugin version ever counted). A hash past it was planted: it is not
 * read (one error line naming the key) and the instance serves what it has.
 */
export const MAX_INDEX_ENTRIES = 2 * MAX_PLUGINS;
export const MAX_COUNT_ENTRIES = 65_536;

const HEX64 = /^[0-9a-f]{64}$/;

/**
 * One push of counts, applied once: KEYS = counts, last, pushes; ARGV = instance id, sequence,
 * then (field, delta, last_invoked_at or "") triples. A sequence already recorded for the
 * instance is not applied again (its first answer was lost).
 */
const PUSH = `if tonumber(redis.call("HGET", KEYS[3], ARGV[1]) or "0") >= tonumber(ARGV[2]) then return 0 end
for i = 3, #ARGV, 3 do
  redis.call("HINCRBY", KEYS[1], ARGV[i], ARGV[i + 1])
  local t = ARGV[i + 2]
  if t ~= "" then
    local cur = redis.call("HGET", KEYS[2], ARGV[i])
    if not cur or cur < t then redis.call("HSET", KEYS[2], ARGV[i], t) end
  end
end
redis.call("HSET", KEYS[3], ARGV[1], ARGV[2])
return 1`;

/** A push sent and not yet answered: sent again as it is until Redis answers. */
interface Push {
  readonly seq: number;
  readonly args: readonly string[];
}

/** A shared index entry read back from Redis (anything else: skipped, with a log line). */
function parsePlugin(name: string, json: string): SharedPlugin | undefined {
  let p: Partial<SharedPlugin>;
  try {
    p = JSON.parse(json) as Partial<SharedPlugin>;
  } catch {
    return undefined;
  }
  const ok =
    typeof p === "object" &&
    p !== null &&
    p.name === name &&
    typeof p.sha256 === "string" &&
    HEX64.test(p.sha256) &&
    typeof p.enabled === "boolean" &&
    typeof p.memory_limit_bytes === "number" &&
    typeof p.timeout_ms === "number" &&
    typeof p.registered_at === "string" &&
    (p.description === null || typeof p.description === "string");
  return ok ? (p as SharedPlugin) : undefined;
}

const only = (p: SharedPlugin): SharedPlugin => ({
  name: p.name,
  description: p.description,
  enabled: p.enabled,
  memory_limit_bytes: p.memory_limit_bytes,
  timeout_ms: p.timeout_ms,
  registered_at: p.registered_at,
  sha256: p.sha256,
});

export class SharedRegistry implements RegistryShare {
  readonly #state: RedisState;
  readonly #log: RegistryLog | undefined;
  readonly #syncMs: number;
  #registry: PluginRegistry | undefined;
  #timer: NodeJS.Timeout | undefined;
  #syncing: Promise<void> | undefined;
  /**
   * Names this instance published, with the read tick at which their index entry was written
   * (Infinity while the write is under way): an index read that began before that is not
   * proof of a delete. An index read that began after it is: a plugin deleted elsewhere before
   * this instance's next sync is dropped here too.
   */
  readonly #publishing = new Map<string, number>();
  /** Counts index reads and finished publishes (the order of the two on one connection). */
  #tick = 0;
  /** Per `<name>@<sha256>`: this instance's count already pushed. */
  readonly #pushed = new Map<string, number>();
  /** Per `<name>@<sha256>`: the total of all instances, as last read. */
  #totals = new Map<string, number>();
  /** Per `<name>@<sha256>`: the latest last_invoked_at of all instances, as last read. */
  #lasts = new Map<string, string>();
  /** This process's id in `<prefix>registry:pushes` (a restart is a new instance). */
  readonly #id = randomUUID();
  #seq = 0;
  #pending: Push | undefined;
  #down = false;
  /** The index's generation (`<prefix>registry:epoch`) this instance last synced with. */
  #epoch: string | undefined;
  /** Syncs done (for tests). */
  syncs = 0;

  constructor(state: RedisState, opts: { syncMs?: number; log?: RegistryLog } = {}) {
    this.#state = state;
    this.#log = opts.log;
    this.#syncMs = opts.syncMs ?? SHARED_SYNC_MS;
  }

  #key(id: string): string {
    return this.#state.key("registry", id);
  }

  /**
   * Follow `registry` (opened with this share): what it counted so far is its own (not pushed
   * again after a restart), its API plugins are published if the index lacks them, then the
   * index is read every syncMs.
   */
  async attach(registry: PluginRegistry): Promise<void> {
    this.#registry = registry;
    for (const c of registry.localCounts()) this.#pushed.set(`${c.name}@${c.sha256}`, c.count);
    await this.sync();
    this.#timer = setInterval(() => void this.sync(), this.#syncMs);
    this.#timer.unref();
  }

  ready(what: string): void {
    if (!this.#state.up)
      throw this.#state.unavailable(
        `${what} (the plugin registry is shared)`,
        undefined,
        "registry",
      );
  }

  async published(p: SharedPlugin, bytes: Uint8Array): Promise<void> {
    if (bytes.byteLength > MAX_MODULE_BYTES)
      throw new Error(`the module is larger than ${MAX_MODULE_BYTES} bytes`);
    const c = this.#state.client;
    this.#publishing.set(p.name, Number.POSITIVE_INFINITY);
    try {
      await c.set(this.#key(`module:${p.sha256}`), Buffer.from(bytes));
      const added = await c.hsetnx(this.#key("index"), p.name, JSON.stringify(only(p)));
      if (added === 0) {
        throw new WardenError(
          "plugin_exists",
          `plugin "${p.name}" is registered already (by another instance sharing state.redis); delete it first or choose another name`,
          { category: "usage", details: { plugin: p.name } },
        );
      }
      this.#publishing.set(p.name, ++this.#tick);
    } catch (e) {
      this.#publishing.delete(p.name);
      if ((e as { code?: string }).code === "plugin_exists") throw e;
      throw this.#state.unavailable(
        "a plugin upload (the plugin registry is shared)",
        e,
        "registry",
      );
    }
  }

  async updated(p: SharedPlugin): Promise<void> {
    try {
      await this.#state.client.hset(this.#key("index"), p.name, JSON.stringify(only(p)));
    } catch (e) {
      throw this.#state.unavailable(
        "enabling or disabling a plugin (the registry is shared)",
        e,
        "registry",
      );
    }
  }

  async deleted(name: string): Promise<void> {
    try {
      await this.#state.client.hdel(this.#key("index"), name);
    } catch (e) {
      throw this.#state.unavailable(
        "deleting a plugin (the plugin registry is shared)",
        e,
        "registry",
      );
    }
  }

  count(name: string, sha256: string, local: number): number {
    const f = `${name}@${sha256}`;
    const total = this.#totals.get(f);
    const pushed = this.#pushed.get(f) ?? 0;
    return total === undefined ? local : total + Math.max(0, local - pushed);
  }

  last(name: string, sha256: string, local: string | null): string | null {
    const all = this.#lasts.get(`${name}@${sha256}`);
    if (all === undefined) return local;
    return local !== null && local > all ? local : all;
  }

  /** The push to send: the one not yet answered, else this instance's new counts (or none). */
  #push(reg: PluginRegistry): Push | undefined {
    if (this.#pending !== undefined) return this.#pending;
    const args: string[] = [];
    for (const l of reg.localCounts()) {
      const f = `${l.name}@${l.sha256}`;
      const delta = l.count - (this.#pushed.get(f) ?? 0);
      if (delta <= 0) continue;
      args.push(f, String(delta), l.last ?? "");
      this.#pushed.set(f, l.count);
    }
    if (args.length === 0) return undefined;
    this.#pending = { seq: ++this.#seq, args };
    return this.#pending;
  }

  /** Read the index and the totals, push this instance's new counts (one at a time). */
  sync(): Promise<void> {
    this.#syncing ??= this.#sync().finally(() => {
      this.#syncing = undefined;
    });
    return this.#syncing;
  }

  async #sync(): Promise<void> {
    const reg = this.#registry;
    if (reg === undefined || !this.#state.up) return;
    const c = this.#state.client;
    try {
      // counts first: this instance's new invocations (once), then everyone's totals
      const push = this.#push(reg);
      if (push !== undefined) {
        const keys = [this.#key("counts"), this.#key("last"), this.#key("pushes")];
        await c.eval(PUSH, 3, ...keys, this.#id, String(push.seq), ...push.args);
        this.#pending = undefined;
      }
      // a new generation (first sync, or Redis lost its data): this instance's API plugins are
      // published again where the index lacks them, rather than dropped as deleted
      await c.set(this.#key("epoch"), `${Date.now()}-${Math.random()}`, "NX");
      const epoch = (await c.get(this.#key("epoch"))) ?? "";
      if (epoch !== this.#epoch) {
        for (const p of reg.list()) {
          if (p.source !== "api") continue;
          const bytes = await reg.moduleBytes(p.name);
          if (bytes === undefined) continue;
          await c.set(this.#key(`module:${p.sha256}`), Buffer.from(bytes));
          await c.hsetnx(this.#key("index"), p.name, JSON.stringify(only(p)));
        }
        this.#epoch = epoch;
      }
      if (!(await this.#over("counts", MAX_COUNT_ENTRIES))) {
        const totals = await c.hgetall(this.#key("counts"));
        this.#totals = new Map(
          Object.entries(totals)
            .map(([k, v]) => [k, Number(v)] as const)
            .filter(([, v]) => Number.isSafeInteger(v) && v >= 0),
        );
      }
      if (!(await this.#over("last", MAX_COUNT_ENTRIES))) {
        const lasts = await c.hgetall(this.#key("last"));
        this.#lasts = new Map(
          Object.entries(lasts).filter(([, v]) => v.length <= 40 && !Number.isNaN(Date.parse(v))),
        );
      }
      // an index past its bound is not followed at all (nothing adopted, nothing dropped)
      if (!(await this.#over("index", MAX_INDEX_ENTRIES))) await this.#follow(reg);
      this.syncs++;
      if (this.#down)
        this.#log?.info(
          { event: "wasm.plugin.shared" },
          "the shared plugin registry is reachable again",
        );
      this.#down = false;
    } catch (e) {
      if (!this.#down)
        this.#log?.warn(
          { event: "wasm.plugin.shared", message: (e as Error).message },
          "the shared plugin registry cannot be read; serving what this instance has",
        );
      this.#down = true;
    }
  }

  /** Take the index: adopt what this instance lacks or has at another version, drop what went. */
  async #follow(reg: PluginRegistry): Promise<void> {
    const c = this.#state.client;
    const readTick = ++this.#tick;
    const index = await c.hgetall(this.#key("index"));
    const seen = new Set<string>();
    for (const [name, json] of Object.entries(index)) {
      const p = parsePlugin(name, json);
      if (p === undefined) {
        this.#warnOnce(
          `index:${name}:${json}`,
          { event: "wasm.plugin.shared", plugin: name.slice(0, 200), key: this.#key("index") },
          `the shared index entry ${JSON.stringify(name.slice(0, 200))} in ${this.#key("index")} is not a plugin entry (written by something other than a Warden instance?); skipped, fix or delete it (HDEL)`,
        );
        continue;
      }
      seen.add(name);
      const have = reg.get(name);
      if (have !== undefined && have.sha256 === p.sha256 && have.source === "api") {
        if (have.enabled !== p.enabled) await reg.adopt(p, new Uint8Array());
        continue;
      }
      const key = this.#key(`module:${p.sha256}`);
      // the size first (a huge value is never read), then a bounded read: a module replaced
      // by a huge value between the two is still read no further than the limit
      const size = await c.strlen(key);
      const bytes =
        size === 0 || size > MAX_MODULE_BYTES
          ? Buffer.alloc(size === 0 ? 0 : MAX_MODULE_BYTES + 1)
          : await c.getrangeBuffer(key, 0, MAX_MODULE_BYTES);
      if (bytes.byteLength === 0 || bytes.byteLength > MAX_MODULE_BYTES) {
        this.#warnOnce(
          `module:${name}:${p.sha256}:${bytes.byteLength === 0}`,
          { event: "wasm.plugin.shared", plugin: name, key, size_bytes: size },
          `the shared module ${key} of plugin "${name}" is ${bytes.byteLength === 0 ? "missing" : `past the module size limit (${size} bytes, at most ${MAX_MODULE_BYTES})`}; skipped, the version in force (if any) keeps running`,
        );
        continue;
      }
      await reg
        .adopt(p, new Uint8Array(bytes))
        .catch((e: Error) =>
          this.#warnOnce(
            `adopt:${name}:${p.sha256}`,
            { event: "wasm.plugin.shared", plugin: name, key, message: e.message },
            `the shared plugin "${name}" (${key}) could not be loaded: ${e.message}; the version in force (if any) keeps running`,
          ),
        );
    }
    // published after this read began (or being published): not dropped by it
    const fresh = (name: string) => (this.#publishing.get(name) ?? 0) > readTick;
    for (const p of reg.list())
      if (p.source === "api" && !seen.has(p.name) && !fresh(p.name)) await reg.forget(p.name);
    for (const [name, at] of this.#publishing) if (at < readTick) this.#publishing.delete(name);
  }

  /** True (and one error line naming the key) when the shared hash `kind` is past `max`. */
  async #over(kind: string, max: number): Promise<boolean> {
    const key = this.#key(kind);
    const n = await this.#state.client.hlen(key);
    if (n <= max) {
      this.#warned.delete(`over:${kind}`); // said again if it happens again
      return false;
    }
    this.#warnOnce(
      `over:${kind}`,
      { event: "wasm.plugin.shared", key, entries: n, limit: max },
      `the shared hash ${key} holds ${n} entries, past the ${max} Warden instances write (written by another client?); not read: this instance serves the plugins it has until it is cleaned up (HDEL the entries no instance wrote)`,
    );
    return true;
  }

  /** Logged once per problem (the poll meets it again every sync until it is fixed). */
  readonly #warned = new Set<string>();
  #warnOnce(what: string, fields: Record<string, unknown>, message: string): void {
    if (this.#warned.has(what)) return;
    if (this.#warned.size >= 1000) this.#warned.clear();
    this.#warned.add(what);
    this.#log?.error(fields, message);
  }

  close(): void {
    if (this.#timer) clearInterval(this.#timer);
  }
}
