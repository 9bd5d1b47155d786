/**
 * The policy `warden run` judges with when given none (and no preset applies): files only,
 * everything allowed but the secrets under the home directory (read) and the shell's startup
 * files (write). Network and environment are not judged (no section). docs/trace.md shows it.
 */
import { realpathSync } from "node:fs";
import { homedir } from "node:os";

const SECRETS = [
  ".ssh",
  ".aws",
  ".gnupg",
  ".config/gcloud",
  ".kube",
  ".docker",
  ".netrc",
  ".git-credentials",
  ".npmrc.secret",
];
const STARTUP = [
  ".bashrc",
  ".bash_profile",
  ".profile",
  ".zshrc",
  ".zprofile",
  ".config/fish/config.fish",
];

function homes(): string[] {
  const h = process.env.HOME ?? homedir();
  let real = h;
  try {
    real = realpathSync(h);
  } catch {}
  return real === h ? [h] : [h, real];
}

/** The default policy's YAML for this user's home directory. */
export function defaultPolicy(): { text: string; file: string } {
  const deny: string[] = [];
  for (const h of homes()) {
    for (const s of SECRETS) {
      deny.push(`    - { uri: ${JSON.stringify(`${h}/${s}`)}, access: [read, write] }`);
      deny.push(`    - { uri: ${JSON.stringify(`${h}/${s}/**`)}, access: [read, write] }`);
    }
    for (const s of STARTUP)
      deny.push(`    - { uri: ${JSON.stringify(`${h}/${s}`)}, access: write }`);
  }
  const text = [
    'version: "1.0"',
    "description: warden run's default policy (files only; secrets and shell startup files denied)",
    "storage:",
    "  deny:",
    ...deny,
    "  allow:",
    '    - { uri: "/**", access: [read, write] }',
    "",
  ].join("\n");
  return { text, file: "<warden run default policy>" };
}
