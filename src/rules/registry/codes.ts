/**
 * Error codes of the plugin registry (src/rules/registry). The admin layer re-exports them
 * (src/admin/codes.ts) and maps each to its HTTP status (docs/admin.md). Retired codes are never
 * reused.
 */
export const REGISTRY_CODES = {
  plugin_name_invalid:
    "A plugin name is not 1 to 128 characters of A-Z a-z 0-9 . _ - or starts with a dot (HTTP 400).",
  plugin_exists: "A plugin of that name is registered already; delete it first (HTTP 409).",
  plugin_not_found: "No plugin of that name is registered (HTTP 404).",
  plugin_disabled: "The plugin is registered but disabled; rules cannot invoke it.",
  registry_full: "256 plugins are registered, the most the registry holds (HTTP 507).",
  registry_corrupt:
    "The registry's index under state.dir, or a module it names, is unreadable or altered; the message names the file.",
  registry_unwritable: "The registry could not write its index or a module under state.dir.",
} as const;

export type RegistryCode = keyof typeof REGISTRY_CODES;
