/** Where results and errors go: JSON on stdout with --json, short human lines otherwise. */
import type { ProvisionError } from "./errors.ts";

export interface Streams {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  /** A progress bar is drawn only on a terminal. */
  stderrIsTTY: boolean;
}

export const processStreams = (): Streams => ({
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
  stderrIsTTY: process.stderr.isTTY === true,
});

export class Output {
  constructor(
    readonly json: boolean,
    readonly streams: Streams,
  ) {}

  result(data: unknown, human: string | string[]): void {
    if (this.json) this.streams.stdout(`${JSON.stringify(data, null, 2)}\n`);
    else {
      const lines = typeof human === "string" ? [human] : human;
      if (lines.length) this.streams.stdout(`${lines.join("\n")}\n`);
    }
  }

  /** Progress and notes that are not the result: stderr, silent with --json. */
  note(line: string): void {
    if (!this.json) this.streams.stderr(`${line}\n`);
  }

  error(err: ProvisionError): void {
    if (this.json) {
      this.streams.stdout(
        `${JSON.stringify({ error: { code: err.code, message: err.message, hint: err.hint } }, null, 2)}\n`,
      );
    } else {
      this.streams.stderr(`error: ${err.code}: ${err.message}\n`);
      if (err.hint) this.streams.stderr(`hint: ${err.hint}\n`);
    }
  }
}

/** Fixed-width text table for `list`-style output. */
export function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line)];
}

/** "1 key", "3 keys". */
export const n = (count: number, noun: string) => `${count} ${noun}${count === 1 ? "" : "s"}`;
