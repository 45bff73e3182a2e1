/** Progress lines on stderr, so stdout stays the results. Each line shows time since the run began. */

export class Progress {
  constructor(
    private readonly prefix: string,
    private readonly started = performance.now(),
  ) {}

  get elapsedSeconds(): number {
    return (performance.now() - this.started) / 1000;
  }

  line(message: string): void {
    process.stderr.write(`[${this.elapsedSeconds.toFixed(1).padStart(6)}s ${this.prefix}] ${message}\n`);
  }

  child(prefix: string): Progress {
    return new Progress(prefix, this.started);
  }
}
