import { join } from "node:path";
import type { Command } from "commander";
import { WardenError } from "../../core/errors.js";
import { defaultStateDir, STATE_FILES } from "../../core/state-dir.js";
import { loadConfig } from "../../mcp/config.js";
import { type FilterOptions, makeFilter } from "../audit/filter.js";
import { follow, readOnce, type Sink } from "../audit/follow.js";
import { LineSource, MAX_LINE_BYTES } from "../audit/lines.js";
import { parseAuditLine } from "../audit/record.js";
import { header, row, safe } from "../audit/table.js";
import { jsonOption, usageError } from "../output.js";

interface Options extends FilterOptions {
  config?: string;
  follow?: boolean;
  json?: boolean;
}

/** The audit file: FILE, else the one --config's warden.yaml writes, else the default one. */
function auditFile(file: string | undefined, config: string | undefined): string {
  if (file !== undefined) return file;
  if (config === undefined) return join(defaultStateDir(), STATE_FILES.audit);
  const c = loadConfig(config);
  if (c.audit === undefined)
    throw usageError(
      `${c.file} writes no audit: add "audit: true" to it (the audit goes to <state.dir>/${STATE_FILES.audit}), or name the audit FILE`,
    );
  if (c.audit.file === "-")
    throw usageError(
      `${c.file} writes its audit to stderr (audit.file: "-"): there is no file to read`,
    );
  return c.audit.file;
}

/** The reader of stdout went away (`warden audit | head`): stop reading, exit 0. */
class StdoutClosed extends Error {}
let stdoutClosed = false;

function watchStdout(): void {
  process.stdout.on("error", () => {
    stdoutClosed = true;
  });
}

/** Write to stdout, waiting when the pipe is full (a slow reader never grows our memory). */
async function out(text: string): Promise<void> {
  if (stdoutClosed) throw new StdoutClosed();
  if (text === "" || process.stdout.write(text)) return;
  await new Promise<void>((resolve) => {
    const done = () => {
      process.stdout.off("drain", done).off("error", done).off("close", done);
      resolve();
    };
    process.stdout.once("drain", done).once("error", done).once("close", done);
  });
  if (stdoutClosed) throw new StdoutClosed();
}

/** `warden audit [FILE]`: the JSONL audit as a table, or the matching lines (--json). */
export function registerAudit(program: Command): void {
  jsonOption(program.command("audit"))
    .description(
      "Show the audit log (docs/audit.md) as a table, or with --json the matching lines as JSON lines; --follow follows it like tail -F, across rotation. Exit 0, or 2 when the file cannot be read or an option is wrong.",
    )
    .argument(
      "[file]",
      `the audit file (default: the one --config's warden.yaml writes, else <XDG state dir>/warden/${STATE_FILES.audit})`,
    )
    .option("-c, --config <file>", "a warden.yaml: read the audit file it writes")
    .option(
      "-f, --follow",
      "keep reading as lines are written, across rotation and truncation (Ctrl-C stops)",
    )
    .option("--verdict <verdict>", "only lines whose decision is allow or deny")
    .option(
      "--tool <glob>",
      'only lines whose tool, prompt or resource name matches a name glob ("files__*")',
    )
    .option("--caller <name>", "only lines of this caller")
    .option("--since <when>", 'only lines since a duration back ("10m", "2h", "7d") or a date-time')
    .action(async (file: string | undefined, opts: Options) => {
      const keep = makeFilter(opts);
      watchStdout();
      const path = auditFile(file, opts.config);
      const json = opts.json === true;
      const sink: Sink = {
        async lines(events, from) {
          let text = "";
          for (const e of events) {
            if (e.kind === "too_long") {
              this.note(
                `${from}:${e.n}: skipped: a line of ${e.bytes} bytes, over the ${MAX_LINE_BYTES} an audit line can have`,
              );
              continue;
            }
            if (e.text.trim() === "") continue;
            const p = parseAuditLine(e.text);
            if (!p.ok) {
              this.note(`${from}:${e.n}: skipped: ${p.why}`);
              continue;
            }
            if (!keep(p.record, p.ms)) continue;
            text += json ? `${e.text}\n` : `${row(p.record)}\n`;
          }
          await out(text);
        },
        note(message) {
          process.stderr.write(`warden audit: ${safe(message)}\n`);
        },
      };
      if (opts.follow) {
        const stop = new AbortController();
        const abort = () => stop.abort();
        process.once("SIGINT", abort);
        process.once("SIGTERM", abort);
        try {
          if (!json) await out(`${header()}\n`);
          await follow(path, sink, stop.signal);
        } catch (e) {
          if (!(e instanceof StdoutClosed)) throw e;
        } finally {
          process.off("SIGINT", abort);
          process.off("SIGTERM", abort);
        }
        return;
      }
      let src: LineSource;
      try {
        src = new LineSource(path);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code ?? String(e);
        throw new WardenError(
          "audit_unreadable",
          `cannot read the audit file ${path} (${code}): ${file === undefined ? 'name it, or pass --config warden.yaml (with "audit: true" the gateway writes it under its state.dir)' : "check the path"}`,
          { category: "usage", details: { file: path } },
        );
      }
      try {
        if (!json) await out(`${header()}\n`);
        await readOnce(src, sink);
      } catch (e) {
        if (!(e instanceof StdoutClosed)) throw e;
      }
    });
}
