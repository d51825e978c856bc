/**
 * Structured JSON logs, one object per line. Callers pass fields, never secrets.
 *
 * @module
 */

/** Log levels, least to most severe. */
export type LogLevel = "debug" | "info" | "warn" | "error";

const ranks: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** A structured logger. */
export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  /** A logger whose lines all carry `fields`. */
  with(fields: Record<string, unknown>): Logger;
}

/** Options for {@linkcode createLogger}. */
export interface LoggerOptions {
  /** Lowest level written. Default: `"info"`. */
  level?: LogLevel;
  /** Where lines go. Default: `console.log` for info and below, `console.error` above. */
  write?: (line: string, level: LogLevel) => void;
  /** Fields on every line. */
  fields?: Record<string, unknown>;
}

/** Creates a JSON-lines logger. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const write = options.write ??
    ((line, level) => ranks[level] >= ranks.warn ? console.error(line) : console.log(line));
  return new JsonLogger(ranks[options.level ?? "info"], write, options.fields ?? {});
}

// A class, so that `with` (once per HTTP request, for its request id) allocates one object and
// not a set of closures.
class JsonLogger implements Logger {
  constructor(
    private readonly min: number,
    private readonly write: (line: string, level: LogLevel) => void,
    private readonly fields: Record<string, unknown>,
  ) {}
  debug(msg: string, fields?: Record<string, unknown>): void {
    this.emit("debug", msg, fields);
  }
  info(msg: string, fields?: Record<string, unknown>): void {
    this.emit("info", msg, fields);
  }
  warn(msg: string, fields?: Record<string, unknown>): void {
    this.emit("warn", msg, fields);
  }
  error(msg: string, fields?: Record<string, unknown>): void {
    this.emit("error", msg, fields);
  }
  with(fields: Record<string, unknown>): Logger {
    return new JsonLogger(this.min, this.write, { ...this.fields, ...fields });
  }
  private emit(level: LogLevel, msg: string, fields?: Record<string, unknown>): void {
    if (ranks[level] < this.min) return;
    this.write(
      JSON.stringify({ ts: new Date().toISOString(), level, msg, ...this.fields, ...fields }),
      level,
    );
  }
}

/** A logger that drops everything, for tests and benchmarks. */
export const silentLogger: Logger = createLogger({ write: () => {} });
