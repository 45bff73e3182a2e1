/** `vhsm help`: usage generated from the command table, plus environment and exit codes. */

import { DEFAULT_SOCKET } from "../context.ts";
import { EXIT_DESCRIPTIONS } from "../errors.ts";
import { type Command, usageLine } from "./command.ts";

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
