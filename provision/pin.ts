/**
 * Where a PIN comes from: `--pin-file FILE`, then `VHSM_PIN`, then a prompt (twice, no echo) when
 * stdin is a terminal. Never argv: it would show in `ps` and shell history.
 */
import { readFileSync } from "node:fs";
import { ProvisionError } from "./errors.ts";

export interface PinSource {
  pinFile?: string;
  env: Record<string, string | undefined>;
  /** Reads a line without echo; absent when stdin is not a terminal. */
  prompt?: (question: string) => Promise<string>;
}

export async function readPin(src: PinSource, what = "PIN"): Promise<string> {
  if (src.pinFile !== undefined) {
    let text: string;
    try {
      text = readFileSync(src.pinFile, "utf8");
    } catch (err) {
      throw new ProvisionError(
        "BAD_ARGUMENTS",
        `cannot read the PIN file ${src.pinFile}: ${(err as NodeJS.ErrnoException).code ?? err}`,
        "give a readable file whose first line is the PIN",
      );
    }
    return nonEmpty(text.split(/\r?\n/, 1)[0] ?? "", `the PIN file ${src.pinFile} is empty`);
  }
  const env = src.env.VHSM_PIN;
  if (env !== undefined) return nonEmpty(env, "VHSM_PIN is set but empty");
  if (!src.prompt) {
    throw new ProvisionError(
      "BAD_ARGUMENTS",
      `no ${what} given`,
      "set VHSM_PIN, pass --pin-file FILE, or run on a terminal to be prompted (PINs are never read from argv)",
    );
  }
  const first = await src.prompt(`New ${what}: `);
  const second = await src.prompt(`Repeat ${what}: `);
  if (first !== second) throw new ProvisionError("BAD_ARGUMENTS", "the two PINs do not match", "try again");
  return nonEmpty(first, "empty PIN");
}

function nonEmpty(pin: string, message: string): string {
  if (pin.length === 0) throw new ProvisionError("PIN_POLICY", message);
  return pin;
}

/** A no-echo line reader on the terminal (raw mode), for interactive use only. */
export function terminalPrompt(): ((q: string) => Promise<string>) | undefined {
  const stdin = process.stdin;
  if (!stdin.isTTY) return undefined;
  return (question) =>
    new Promise((resolve, reject) => {
      process.stderr.write(question);
      let line = "";
      stdin.setRawMode(true);
      stdin.resume();
      const done = (err?: Error) => {
        stdin.setRawMode(false);
        stdin.pause();
        stdin.off("data", onData);
        process.stderr.write("\n");
        if (err) reject(err);
        else resolve(line);
      };
      const onData = (chunk: Buffer) => {
        for (const ch of chunk.toString("utf8")) {
          if (ch === "\r" || ch === "\n") return done();
          if (ch === "\u0003") return done(new ProvisionError("BAD_ARGUMENTS", "interrupted"));
          if (ch === "\u007f" || ch === "\b") line = line.slice(0, -1);
          else line += ch;
        }
      };
      stdin.on("data", onData);
    });
}
