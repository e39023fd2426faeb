/** Structured daemon logs on stderr: one JSON object or one `key=value` line per event. */
export type LogFormat = 'json' | 'text';
export type LogLevel = 'info' | 'warn' | 'error';
export type LogFields = Record<string, string | number | boolean | undefined>;

export interface Logger {
  log(level: LogLevel, msg: string, fields?: LogFields): void;
}

export function createLogger(format: LogFormat, write: (line: string) => void = (l) => process.stderr.write(l)): Logger {
  return {
    log(level, msg, fields = {}) {
      const time = new Date().toISOString();
      const defined = Object.entries(fields).filter(([, v]) => v !== undefined);
      if (format === 'json') {
        write(`${JSON.stringify({ time, level, msg, ...Object.fromEntries(defined) })}\n`);
        return;
      }
      const rest = defined.map(([k, v]) => ` ${k}=${typeof v === 'string' && /[\s"=]/.test(v) ? JSON.stringify(v) : String(v)}`).join('');
      write(`time=${time} level=${level} msg=${JSON.stringify(msg)}${rest}\n`);
    },
  };
}
