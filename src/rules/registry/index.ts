/** The plugin registry: rule plugins by name, persisted under state.dir (docs/admin.md). */
export { REGISTRY_CODES, type RegistryCode } from "./codes.js";
export { checkRegistryName, MAX_PLUGINS } from "./names.js";
export { MAX_MODULE_BYTES, PluginRegistry } from "./registry.js";
export type {
  Invocation,
  PluginInfo,
  RegisteredPlugin,
  RegisterInput,
  RegistryLog,
  RegistryObserver,
  RegistryOptions,
  RegistryShare,
  SharedPlugin,
} from "./types.js";
