/** The table of commands, and finding the one the positional words select. */
import { usageError } from "../errors.ts";
import type { Command } from "./command.ts";
import { decrypt, encrypt } from "./crypt.ts";
import { digest, hmac } from "./hash.ts";
import { keyCount, keyGenerate, keyImport, keyInfo, keyList, keyRm } from "./key.ts";
import { keyPublic, keyRotate, keyUpdate } from "./key-versions.ts";
import { pinChange } from "./pin.ts";
import { random } from "./random.ts";
import { sign, verify } from "./sign.ts";
import { unwrap, wrap } from "./wrap.ts";

export const COMMANDS: Command[] = [
  keyGenerate,
  keyImport,
  keyList,
  keyInfo,
  keyRm,
  keyCount,
  keyPublic,
  keyRotate,
  keyUpdate,
  hmac,
  digest,
  sign,
  verify,
  encrypt,
  decrypt,
  wrap,
  unwrap,
  random,
  pinChange,
];

/** The command named by the first positional words, and the positionals left for it. */
export function findCommand(positionals: string[]): { command: Command; args: string[] } {
  for (const command of COMMANDS) {
    const n = command.words.length;
    if (command.words.every((w, i) => positionals[i] === w)) return { command, args: positionals.slice(n) };
  }
  const [first, second] = positionals;
  const group = COMMANDS.filter((c) => c.words.length > 1 && c.words[0] === first);
  if (group.length > 0) {
    const subs = group.map((c) => c.words[1]).join(", ");
    throw usageError(
      second === undefined
        ? `\`vhsm ${first}\` needs a subcommand: ${subs}`
        : `unknown command \`vhsm ${first} ${second}\`; use one of: ${subs}`,
    );
  }
  const names = [...new Set(COMMANDS.map((c) => c.words[0]))].join(", ");
  throw usageError(`unknown command ${JSON.stringify(first)}; commands: ${names}, help`);
}
