/** `enroll NAME` or `enroll --from FILE`, never both. */
import type { Ctx } from "../context.ts";
import { ProvisionError } from "../errors.ts";
import type { RuntimeName } from "../runtimes/index.ts";
import { enrollFromFile } from "./bulk.ts";
import { enrollCommand } from "./enroll.ts";

export interface EnrollFlags {
  uid?: number;
  gid?: number;
  runtime?: RuntimeName;
  runtimeSocket?: string;
  recreate?: boolean;
  from?: string;
}

export async function bulkOrSingleEnroll(
  ctx: Ctx,
  name: string | undefined,
  o: EnrollFlags,
): Promise<number | undefined> {
  const defaults = {
    uid: o.uid,
    gid: o.gid,
    runtime: o.runtime,
    runtimeSocket: o.runtimeSocket,
    recreate: o.recreate,
  };
  if (o.from !== undefined) {
    if (name !== undefined) throw new ProvisionError("BAD_ARGUMENTS", "give a NAME or --from FILE, not both");
    return enrollFromFile(ctx, o.from, defaults);
  }
  if (name === undefined)
    throw new ProvisionError("BAD_ARGUMENTS", "enroll needs a container NAME (or --from FILE)");
  await enrollCommand(ctx, { ...defaults, name });
  return undefined;
}
