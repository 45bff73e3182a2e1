/** A one-line progress bar on a terminal; one plain line per item everywhere else (logs, pipes). */
import type { Streams } from "./output.ts";

export class Progress {
  private done = 0;
  private lastDraw = 0;

  constructor(
    private readonly total: number,
    private readonly streams: Streams,
    private readonly quiet: boolean,
  ) {}

  get tty(): boolean {
    return this.streams.stderrIsTTY && !this.quiet;
  }

  tick(name: string, line: string): void {
    this.done++;
    if (this.quiet) return;
    if (!this.streams.stderrIsTTY) {
      this.streams.stdout(`${line}\n`);
      return;
    }
    // redraw at most every 50 ms, and always at the end
    const now = Date.now();
    if (this.done < this.total && now - this.lastDraw < 50) return;
    this.lastDraw = now;
    const width = 30;
    const filled = Math.round((this.done / this.total) * width);
    const pct = Math.floor((this.done / this.total) * 100);
    const bar = `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${this.done}/${this.total} ${pct}% ${name}`;
    this.streams.stderr(`\r\x1b[2K${bar}`);
    if (this.done === this.total) this.streams.stderr("\n");
  }

  /** A line that must not be overwritten by the bar (a failure). */
  print(line: string): void {
    if (this.quiet) return;
    if (this.streams.stderrIsTTY) this.streams.stderr(`\r\x1b[2K${line}\n`);
    else this.streams.stderr(`${line}\n`);
  }
}
