/** Picks the runtime integration for `enroll --runtime`. */
import { prepareDocker } from "./docker.ts";
import { prepareIncus } from "./incus.ts";
import { prepareNone, prepareOpenvz } from "./manual.ts";
import type { Attach, RuntimeName, RuntimeOptions } from "./types.ts";

export function prepareRuntime(runtime: RuntimeName, name: string, options: RuntimeOptions): Promise<Attach> {
  switch (runtime) {
    case "docker":
    case "podman":
      return prepareDocker(runtime)(name, options);
    case "incus":
      return prepareIncus(name, options);
    case "openvz":
      return prepareOpenvz(name);
    case "none":
      return prepareNone(name);
  }
}

export { CONTAINER_DIR, type MountPlan, RUNTIMES, type RuntimeName, type RuntimeOptions } from "./types.ts";
