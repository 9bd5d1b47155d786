/**
 * What scripts/bundle-agent.mjs and scripts/bundle-cli.mjs share: esbuild, loaded only when it
 * is installed (a production install has none: nothing is bundled then), and the plugin that
 * replaces `import.meta.url` in every bundled module with that module's own URL, relative to the
 * bundle (the bundle's banner defines `__wardenUrl(rel)` for its format).
 */
import { readFile } from "node:fs/promises";
import { dirname, relative } from "node:path";

/** esbuild, or undefined (saying what is not bundled) when it is not installed. */
export async function loadEsbuild(what) {
  try {
    return await import("esbuild");
  } catch {
    process.stderr.write(`build: esbuild is not installed: ${what} is not bundled\n`);
    return undefined;
  }
}

/** The esbuild plugin: `import.meta.url` → `__wardenUrl("<module relative to bundle>")`. */
export function metaUrlPlugin(bundle) {
  return {
    name: "import-meta-url",
    setup(b) {
      b.onLoad({ filter: /\.[cm]?js$/ }, async (a) => {
        const text = await readFile(a.path, "utf8");
        if (!text.includes("import.meta.url")) return undefined;
        const rel = relative(dirname(bundle), a.path).split("\\").join("/");
        return {
          contents: text.replaceAll("import.meta.url", `__wardenUrl(${JSON.stringify(rel)})`),
          loader: "js",
        };
      });
    },
  };
}
