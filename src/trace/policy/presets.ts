/**
 * Built-in policies for `warden run`, in malwi's policy format (integer `version: 1`, read by
 * the policy layer's malwi reader) and modelled on malwi's presets: `npm-install`,
 * `pypi-install`, `air-gap`. `selectPreset(argv)` picks one from the command as malwi does
 * (`npm install|ci|add`, `pip install`, `uv pip install|add|sync`, ...); `printPreset(name)`
 * is what `warden run --print-preset NAME` prints.
 */
import { AIR_GAP } from "./presets/air-gap.js";
import { NPM_INSTALL } from "./presets/npm-install.js";
import { PYPI_INSTALL } from "./presets/pypi-install.js";

export const PRESETS: Readonly<Record<string, string>> = Object.freeze({
  "npm-install": NPM_INSTALL,
  "pypi-install": PYPI_INSTALL,
  "air-gap": AIR_GAP,
});

export type PresetName = "npm-install" | "pypi-install" | "air-gap";

export const PRESET_NAMES = Object.keys(PRESETS) as PresetName[];

/** A command (its programs, by file name) and the subcommands after it that call for a preset. */
const RULES: readonly {
  programs: readonly string[];
  subcommands: readonly string[];
  preset: PresetName;
}[] = [
  {
    programs: ["npm"],
    subcommands: [
      "install",
      "i",
      "add",
      "ci",
      "clean-install",
      "install-clean",
      "ic",
      "install-test",
      "it",
    ],
    preset: "npm-install",
  },
  { programs: ["pnpm", "yarn"], subcommands: ["install", "i", "add"], preset: "npm-install" },
  { programs: ["pip", "pip3"], subcommands: ["install"], preset: "pypi-install" },
  { programs: ["uv"], subcommands: ["install", "add", "sync"], preset: "pypi-install" },
];

const base = (a: string): string => a.slice(a.lastIndexOf("/") + 1);

/**
 * The preset a command calls for, or undefined: a known program anywhere in argv (so
 * `sudo npm ci`, `env X=1 pip install` and `python3 -m pip install` count) followed later by
 * one of its subcommands. `pip3.12` counts as `pip3`.
 */
export function selectPreset(argv: readonly string[]): PresetName | undefined {
  const names = argv.map((a) => base(a).replace(/^(pip3?)\.\d+$/, "$1"));
  for (const rule of RULES) {
    const at = names.findIndex((n) => rule.programs.includes(n));
    if (at < 0) continue;
    if (names.slice(at + 1).some((n) => rule.subcommands.includes(n))) return rule.preset;
  }
  return undefined;
}

/** The preset's policy text (what `warden run --print-preset NAME` prints), or undefined. */
export function printPreset(name: string): string | undefined {
  return Object.hasOwn(PRESETS, name) ? PRESETS[name] : undefined;
}

/** The preset as a policy source for `warden run`: its text and the name rules cite. */
export function presetPolicy(name: string): { text: string; file: string } | undefined {
  const text = printPreset(name);
  return text === undefined ? undefined : { text, file: `preset:${name}` };
}

/** `selectPreset`, as `warden run` asks for it. */
export const presetFor = selectPreset;
