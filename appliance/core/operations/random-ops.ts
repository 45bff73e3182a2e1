/** RANDOM: bytes from the appliance's CSPRNG. */
import { randomBytes } from "node:crypto";
import { Status, VhsmError } from "../../../protocol/status.ts";
import type { Handler } from "./handler.ts";

export const Random: Handler<"RANDOM"> = (session, req, svc) => {
  session.requireVault();
  if (req.length > svc.config.maxRandom) {
    throw new VhsmError(Status.BAD_ARGUMENTS, `at most ${svc.config.maxRandom} random bytes per request`);
  }
  return { bytes: randomBytes(req.length) };
};
