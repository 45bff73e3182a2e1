/** What a command runs with: its arguments, the output, and a lazily opened, logged-in client. */
import { VhsmClient } from "../src/client.ts";
import type { Parsed } from "./args.ts";
import { usageError } from "./errors.ts";
import type { Output } from "./output.ts";
import { readPin } from "./pin.ts";

export const DEFAULT_SOCKET = "/run/vhsm/vhsm.sock";

export function socketPath(parsed: Parsed | null): string {
  return parsed?.values.socket ?? process.env.VHSM_SOCKET ?? DEFAULT_SOCKET;
}

export class Context {
  private client: VhsmClient | null = null;

  constructor(
    readonly parsed: Parsed,
    /** Positional arguments after the command words. */
    readonly args: string[],
    readonly out: Output,
  ) {}

  get values(): Parsed["values"] {
    return this.parsed.values;
  }

  get json(): boolean {
    return this.out.json;
  }

  /** The login PIN, from --pin-file, VHSM_PIN, VHSM_PIN_FILE or a prompt. The caller zeroes it. */
  loginPin(): Promise<Buffer> {
    return readPin({
      label: "PIN",
      file: this.values["pin-file"],
      fileOption: "--pin-file",
      envVar: "VHSM_PIN",
      fileEnvVar: "VHSM_PIN_FILE",
    });
  }

  /**
   * Connects and logs in. One-shot: no reconnecting, so a dead appliance fails at once. When `pin`
   * is given the caller keeps (and zeroes) it; otherwise the PIN is read here and zeroed after login.
   */
  async connect(pin?: Buffer): Promise<VhsmClient> {
    const user = this.values.user ?? process.env.VHSM_USER;
    if (!user) throw usageError("no user given", "pass --user NAME or set VHSM_USER");
    const loginPin = pin ?? (await this.loginPin());
    try {
      this.client = await VhsmClient.connect({
        socket: socketPath(this.parsed),
        user,
        pin: loginPin,
        reconnectTimeoutMs: 0,
        clientName: `vhsm-cli/${process.pid}`,
      });
    } finally {
      if (!pin) loginPin.fill(0);
    }
    return this.client;
  }

  close(): void {
    this.client?.close();
    this.client = null;
  }
}
