/** `enroll NAME`: register the container with the appliance and bring its socket dir into it. */
import { dirname } from "node:path";
import { checkContainerName } from "../../appliance/core/ids.ts";
import type { ContainerInfo, Ctx } from "../context.ts";
import { asProvisionError } from "../errors.ts";
import { n } from "../output.ts";
import { type MountPlan, prepareRuntime, type RuntimeName } from "../runtimes/index.ts";

export interface EnrollSpec {
  name: string;
  uid?: number;
  gid?: number;
  runtime?: RuntimeName;
  runtimeSocket?: string;
  recreate?: boolean;
}

export interface EnrollResult extends ContainerInfo {
  changed: boolean;
  outcome: "enrolled" | "re-enrolled" | "already enrolled";
  mount?: MountPlan;
}

export async function enrollOne(ctx: Ctx, spec: EnrollSpec): Promise<EnrollResult> {
  try {
    checkContainerName(spec.name);
  } catch (err) {
    throw asProvisionError(err);
  }
  // The runtime is asked first: if it is down or has no such container, nothing changes on the appliance.
  const attach = spec.runtime
    ? await prepareRuntime(spec.runtime, spec.name, {
        socket: spec.runtimeSocket,
        recreate: spec.recreate,
        baseUrl: ctx.runtimeBaseUrl,
        fetch: ctx.runtimeFetch,
      })
    : null;
  const r = await ctx.admin.call<ContainerInfo & { changed: boolean }>("POST", "/v1/containers", {
    name: spec.name,
    uid: spec.uid ?? null,
    gid: spec.gid ?? null,
  });
  const outcome = !r.changed ? "already enrolled" : r.users > 0 || r.keys > 0 ? "re-enrolled" : "enrolled";
  const result: EnrollResult = { ...r, outcome };
  if (attach) result.mount = await attach(dirname(r.socket));
  return result;
}

export function describeEnroll(r: EnrollResult): string[] {
  const head =
    r.outcome === "already enrolled"
      ? `${r.name}: already enrolled`
      : r.outcome === "re-enrolled"
        ? `${r.name}: re-enrolled; its ${n(r.users, "user")} and ${n(r.keys, "key")} are back`
        : `${r.name}: enrolled`;
  const lines = [head, `  socket: ${r.socket}`];
  if (r.mount)
    lines.push(`  mount (${r.mount.runtime}, ${r.mount.state}):`, ...r.mount.steps.map((s) => `    ${s}`));
  return lines;
}

export async function enrollCommand(ctx: Ctx, spec: EnrollSpec): Promise<void> {
  const r = await enrollOne(ctx, spec);
  ctx.out.result(r, describeEnroll(r));
}
