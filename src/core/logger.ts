/**
 * Structured logs: one JSON object per line on stdout (journald keeps them),
 * or a compact human line when stdout is a terminal.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

const LEVEL_ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface LoggerOptions {
  level?: LogLevel;
  pretty?: boolean;
  write?: (line: string) => void;
  now?: () => number;
}

export function createLogger(options: LoggerOptions = {}, bound: LogFields = {}): Logger {
  const minimum = LEVEL_ORDER[options.level ?? 'info'];
  const write = options.write ?? ((line: string) => process.stdout.write(line + '\n'));
  const now = options.now ?? Date.now;
  const emit = (level: LogLevel, message: string, fields?: LogFields) => {
    if (LEVEL_ORDER[level] < minimum) return;
    const record = { time: new Date(now()).toISOString(), level, msg: message, ...bound, ...fields };
    write(options.pretty ? prettyLine(record) : JSON.stringify(record, errorReplacer));
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createLogger(options, { ...bound, ...fields }),
  };
}

export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child: () => silentLogger,
};

function errorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message };
  return value;
}

function prettyLine(record: Record<string, unknown>): string {
  const { time, level, msg, ...rest } = record;
  const extras = Object.entries(rest)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v, errorReplacer)}`)
    .join(' ');
  return `${String(time).slice(11, 19)} ${String(level).toUpperCase().padEnd(5)} ${msg}${extras ? '  ' + extras : ''}`;
}
