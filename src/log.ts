/**
 * The run's log on stderr: readable lines by default, one JSON object per line with
 * `--log-format json` (pino, written synchronously so a crash loses no line). stdout is kept for
 * command output (status, reports). Every line about an object carries an `object` field.
 */
import { createRequire } from 'node:module';
// pino is loaded only for `--log-format json`: a text log (the default) never needs it, and loading
// it cost every run about 30 ms of CPU.
const requireLazily = createRequire(import.meta.url);

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFormat = 'text' | 'json';

export interface Logger {
  readonly format: LogFormat;
  readonly level: LogLevel;
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** A logger writing to stderr at `level` and above. */
export function makeLogger(opts: { format?: LogFormat; level?: LogLevel } = {}): Logger {
  const level = opts.level ?? 'info';
  const format = opts.format ?? 'text';
  if (format === 'json') {
    const { pino, destination, stdTimeFunctions } = requireLazily('pino') as typeof import('pino');
    const p = pino(
      { level, base: { pid: process.pid }, timestamp: stdTimeFunctions.isoTime, formatters: { level: (label) => ({ level: label }) } },
      destination({ dest: 2, sync: true }),
    );
    return {
      format,
      level,
      debug: (m, f) => p.debug(f ?? {}, m),
      info: (m, f) => p.info(f ?? {}, m),
      warn: (m, f) => p.warn(f ?? {}, m),
      error: (m, f) => p.error(f ?? {}, m),
    };
  }
  const min = ORDER[level];
  const emit = (lvl: LogLevel, msg: string, fields: Record<string, unknown> = {}) => {
    if (ORDER[lvl] < min) return;
    const extra = Object.entries(fields)
      .map(([k, v]) => `${k}=${typeof v === 'string' && v !== '' && !/[\s"=]/.test(v) ? v : JSON.stringify(v)}`)
      .join(' ');
    const tag = lvl === 'info' ? '' : `${lvl}: `;
    textSink(`cleaner: ${tag}${msg}${extra ? ' ' + extra : ''}\n`);
  };
  return {
    format,
    level,
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
  };
}

/** Where text log lines go; progress bars replace it so log lines print above the bars. */
let textSink: (line: string) => void = (line) => process.stderr.write(line);

/** Routes text log lines through `sink` (or back to stderr with undefined). */
export function setTextSink(sink: ((line: string) => void) | undefined): void {
  textSink = sink ?? ((line) => process.stderr.write(line));
}
