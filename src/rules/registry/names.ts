import { WardenError } from "../../core/errors.js";

/** The most plugins one registry holds (the seed's limit). */
export const MAX_PLUGINS = 256;

const NAME_RE = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/;

/**
 * A plugin name: `[A-Za-z0-9._-]`, 1 to 128 characters, not starting with a dot, so that no
 * name is a path (`..`, `/`, NUL, hidden files) or looks like one in a listing.
 */
export function checkRegistryName(name: unknown): string {
  if (typeof name === "string" && NAME_RE.test(name)) return name;
  const shown = typeof name === "string" ? JSON.stringify(name.slice(0, 140)) : String(name);
  throw new WardenError(
    "plugin_name_invalid",
    `plugin name ${shown} is not allowed: use 1 to 128 characters of A-Z a-z 0-9 . _ - not starting with a dot`,
    { category: "usage", details: { name: typeof name === "string" ? name.slice(0, 140) : null } },
  );
}
