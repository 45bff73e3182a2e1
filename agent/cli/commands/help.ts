/** `vhsm help`: usage generated from the command table, plus environment and exit codes. */

import { HASHES } from "../args.ts";
import { DEFAULT_SOCKET } from "../context.ts";
import { KEY_TYPES, SIGN_ALGS, USAGES } from "../crypto-args.ts";
import { EXIT_DESCRIPTIONS } from "../errors.ts";
import { type Command, usageLine } from "./command.ts";

const chunk = <T>(items: T[], n: number): T[][] =>
  Array.from({ length: Math.ceil(items.length / n) }, (_, i) => items.slice(i * n, i * n + n));

export function helpText(commands: Command[]): string {
  const lines = [
    "vhsm: use the keys a vhsm appliance keeps for this container",
    "",
    "usage: vhsm [--socket PATH] [--user U] [--pin-file FILE] [--json] <command>",
    "",
    "commands:",
    ...commands.flatMap((c) => [`  ${usageLine(c)}`, `      ${c.summary}`]),
    "  vhsm help",
    "      this text",
    "",
    "options:",
    `  --socket PATH     the appliance socket (default $VHSM_SOCKET, else ${DEFAULT_SOCKET})`,
    "  --user U          the user to log in as (default $VHSM_USER)",
    "  --pin-file FILE   read the PIN from FILE (one trailing newline is ignored)",
    '  --json            print one JSON object, errors included: {"error":{"code","status","message","hint"}}',
    "  --in FILE         input data (default stdin); --out FILE writes raw bytes instead of hex",
    `  --type TYPE       ${KEY_TYPES.join(", ")}`,
    `  --usage U,...     ${USAGES.join(", ")} (default: the type's usual ones)`,
    "  --rotate-every D  a period such as 90s, 15m, 12h, 30d (`never` turns rotation off)",
    `  --alg ALG         hmac, digest: ${HASHES.join(", ")}`,
    "                    sign, verify: the key type's default (ed25519, ecdsa-sha256 for P-256,",
    "                    ecdsa-sha384 for P-384, rsa-pss-sha256 for RSA) or one of",
    ...chunk(SIGN_ALGS, 4).map((algs) => `                    ${algs.join(", ")}`),
    "",
    "sign, verify, encrypt and decrypt send their input in one request: at most 16 MiB.",
    "decrypt, unwrap, verify --sig and sign --prehashed also read the hex that vhsm prints.",
    "",
    "PIN: from --pin-file, $VHSM_PIN, $VHSM_PIN_FILE, else a prompt (only when stdin is a terminal).",
    "     Never on the command line. `pin change` takes the new PIN from --new-pin-file, $VHSM_NEW_PIN,",
    "     $VHSM_NEW_PIN_FILE or a prompt.",
    "",
    "exit codes:",
    ...EXIT_DESCRIPTIONS.map(([code, text]) => `  ${String(code).padStart(3)}  ${text}`),
    "",
    "Errors print `vhsm: CODE: message` and a hint line on stderr; codes are listed in docs/cli.md.",
  ];
  return `${lines.join("\n")}\n`;
}
