/**
 * The appliance log: one line per event on stderr, `time level message {fields}`.
 * Callers pass only names, ids and codes: never PINs, key material or request data.
 */
export type Level = "debug" | "info" | "warn" | "error";
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface LogEntry {
  time: number;
  level: Level;
  message: string;
  fields?: Record<string, unknown>;
}

export class Logger {
  /** Recent entries, for the dashboard's event panel. */
  readonly recent: LogEntry[] = [];
  private sink: ((line: string) => void) | null;

  constructor(
    private readonly minLevel: Level = "info",
    sink: ((line: string) => void) | null = (line) => process.stderr.write(`${line}\n`),
  ) {
    this.sink = sink;
  }

  /** Redirects output (the dashboard takes over the terminal); null keeps entries in memory only. */
  setSink(sink: ((line: string) => void) | null): void {
    this.sink = sink;
  }

  debug(message: string, fields?: Record<string, unknown>): void {
    this.write("debug", message, fields);
  }
  info(message: string, fields?: Record<string, unknown>): void {
    this.write("info", message, fields);
  }
  warn(message: string, fields?: Record<string, unknown>): void {
    this.write("warn", message, fields);
  }
  error(message: string, fields?: Record<string, unknown>): void {
    this.write("error", message, fields);
  }

  private write(level: Level, message: string, fields?: Record<string, unknown>): void {
    if (ORDER[level] < ORDER[this.minLevel]) return;
    const entry: LogEntry = { time: Date.now(), level, message, fields };
    this.recent.push(entry);
    if (this.recent.length > 200) this.recent.shift();
    if (this.sink) {
      const extra = fields && Object.keys(fields).length ? ` ${JSON.stringify(fields)}` : "";
      this.sink(`${new Date(entry.time).toISOString()} ${level.padEnd(5)} ${message}${extra}`);
    }
  }
}
