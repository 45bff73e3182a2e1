/** What a bench module is, and what the runner hands it. */
import { startTestAppliance, type TestAppliance } from "../../test/support/appliance.ts";
import type { Progress } from "./progress.ts";

export interface Plot {
  /** File name under bench/plots/. */
  file: string;
  svg: string;
}

export interface BenchReport {
  /** Markdown for this bench's section of RESULTS.md (tables, notes; plots are linked by the runner). */
  markdown: string;
  plots?: Plot[];
  /** Raw figures, saved as bench/results/<name>.json for later comparison. */
  data?: unknown;
}

export interface Bench {
  name: string;
  description: string;
  run(ctx: BenchContext): Promise<BenchReport>;
}

export interface BenchOptions {
  /** Shorter windows (a smoke run, not for RESULTS.md figures). */
  quick: boolean;
  /** Run `dist/vhsm-appliance` instead of the TypeScript entry. */
  compiled: boolean;
  /** Rounds per measurement (--rounds=N); default 5. */
  rounds?: number;
}

/** The appliance the benches of one run share, started on first use. */
class SharedAppliance {
  private started: Promise<TestAppliance> | null = null;

  constructor(private readonly compiled: boolean) {}

  get(): Promise<TestAppliance> {
    this.started ??= startTestAppliance({ compiled: this.compiled });
    return this.started;
  }

  async dispose(): Promise<void> {
    if (this.started) await (await this.started).dispose();
  }
}

export class BenchContext {
  constructor(
    readonly options: BenchOptions,
    readonly progress: Progress,
    private readonly shared = new SharedAppliance(options.compiled),
  ) {}

  /** Length of one measurement window in seconds. */
  get window(): number {
    return this.options.quick ? 0.3 : 0.6;
  }

  /**
   * Rounds per measurement; figures are the best round (other work on the machine only slows us).
   * Five, not three: on this shared VM a burst of load elsewhere lasts long enough to spoil two rounds
   * of the same row in one run (seen in the ECDSA and 1 MiB HMAC rows, baselines and SoftHSM2 alike).
   */
  get rounds(): number {
    return this.options.quick ? 1 : (this.options.rounds ?? 5);
  }

  /** The appliance shared by the benches of this run. */
  appliance(): Promise<TestAppliance> {
    return this.shared.get();
  }

  /** The same run, with progress lines labelled by the bench's name. */
  forBench(name: string): BenchContext {
    return new BenchContext(this.options, this.progress.child(name), this.shared);
  }

  dispose(): Promise<void> {
    return this.shared.dispose();
  }
}
