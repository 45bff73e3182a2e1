/** `vhsm pin change`: old PIN as for any login, new PIN from VHSM_NEW_PIN, --new-pin-file or a prompt. */
import { exactArgs } from "../args.ts";
import { Exit } from "../errors.ts";
import { readPin } from "../pin.ts";
import type { Command } from "./command.ts";

export const pinChange: Command = {
  words: ["pin", "change"],
  args: [],
  options: ["new-pin-file"],
  synopsis: "[--new-pin-file FILE]",
  summary: "change the user's PIN (new PIN from VHSM_NEW_PIN, --new-pin-file or a prompt asked twice)",
  async run(ctx) {
    exactArgs(ctx.args, [], "pin change");
    const oldPin = await ctx.loginPin();
    let newPin: Buffer | null = null;
    try {
      newPin = await readPin({
        label: "new PIN",
        file: ctx.values["new-pin-file"],
        fileOption: "--new-pin-file",
        envVar: "VHSM_NEW_PIN",
        fileEnvVar: "VHSM_NEW_PIN_FILE",
        confirm: true,
      });
      const client = await ctx.connect(oldPin);
      await client.changePin(oldPin, newPin);
    } finally {
      oldPin.fill(0);
      newPin?.fill(0);
    }
    await ctx.out.result({ changed: true }, "PIN changed");
    return Exit.OK;
  },
};
