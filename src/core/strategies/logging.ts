import pino, { type DestinationStream, type Logger, type LoggerOptions } from "pino";
import type { Call } from "../call.js";
import type { Decision } from "../decision.js";
import type { Strategy } from "../strategy.js";

export interface LoggingOptions {
  /** A ready pino logger; when absent one is made from `destination` (default: stderr). */
  logger?: Logger;
  /** Where a new logger writes (any pino destination, e.g. `pino.destination("./calls.log")`). */
  destination?: DestinationStream;
  /** pino level for call events. Default "info". */
  level?: "trace" | "debug" | "info";
  /**
   * Argument redaction: `true` (default) replaces all arguments with "[redacted]"; `false` logs
   * them; a list of paths (pino redact syntax, relative to the arguments: `password`,
   * `headers.authorization`, `items[*].token`) redacts only those.
   */
  redactArgs?: boolean | readonly string[];
  /** Result redaction, as `redactArgs`. Default `true`. */
  redactResult?: boolean | readonly string[];
  /** Also log the after-call event (result, duration, error). Default true. */
  logResults?: boolean;
}

const REDACTED = "[redacted]";

/**
 * Structured call events through pino: `{event:"call", source, target, function, args}` before,
 * `{event:"return", ..., duration_ms, result | error}` after. Redaction is configurable and on
 * by default, so secrets in arguments stay out of logs unless asked for.
 */
export class LoggingStrategy implements Strategy {
  readonly name: string;
  readonly logger: Logger;
  readonly #level: "trace" | "debug" | "info";
  readonly #argsMode: "all" | "none" | "paths";
  readonly #resultMode: "all" | "none" | "paths";
  readonly afterCall?: (call: Call) => void;

  constructor(options: LoggingOptions = {}, name = "logging") {
    this.name = name;
    this.#level = options.level ?? "info";
    const argsOpt = options.redactArgs ?? true;
    const resultOpt = options.redactResult ?? true;
    this.#argsMode = argsOpt === true ? "all" : argsOpt === false ? "none" : "paths";
    this.#resultMode = resultOpt === true ? "all" : resultOpt === false ? "none" : "paths";
    const paths: string[] = [];
    if (Array.isArray(argsOpt)) for (const p of argsOpt) paths.push(prefix("args", p));
    if (Array.isArray(resultOpt)) for (const p of resultOpt) paths.push(prefix("result", p));
    if (options.logger) {
      this.logger = paths.length > 0 ? options.logger.child({}, { redact: paths }) : options.logger;
    } else {
      const opts: LoggerOptions = { level: this.#level, base: { strategy: name } };
      if (paths.length > 0) opts.redact = { paths, censor: REDACTED };
      this.logger = options.destination
        ? pino(opts, options.destination)
        : pino(opts, pino.destination(2));
    }
    if (options.logResults ?? true) {
      this.afterCall = (call: Call) => {
        if (!this.logger.isLevelEnabled(this.#level)) return;
        const ev: Record<string, unknown> = {
          event: "return",
          source: call.source,
          target: call.target,
          function: call.function,
        };
        if (call.startedAt !== undefined)
          ev.duration_ms = Math.round((performance.now() - call.startedAt) * 1000) / 1000;
        if (call.error !== undefined) {
          ev.error =
            call.error instanceof Error
              ? { name: call.error.name, message: call.error.message }
              : String(call.error);
        } else if (this.#resultMode !== "all") ev.result = call.result;
        else ev.result = REDACTED;
        this.logger[this.#level](ev);
      };
    }
  }

  beforeCall(call: Call): Decision | undefined {
    if (!this.logger.isLevelEnabled(this.#level)) return undefined;
    if (call.startedAt === undefined) call.startedAt = performance.now();
    this.logger[this.#level]({
      event: "call",
      source: call.source,
      target: call.target,
      function: call.function,
      args: this.#argsMode === "all" ? REDACTED : call.args,
    });
    return undefined;
  }
}

function prefix(root: string, path: string): string {
  return path.startsWith("[") ? `${root}${path}` : `${root}.${path}`;
}
