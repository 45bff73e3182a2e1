/** What every runtime integration produces: how the socket dir reaches `/run/vhsm` in the container. */
import type { FetchFn } from "./transport.ts";
export const CONTAINER_DIR = "/run/vhsm";

export type RuntimeName = "docker" | "podman" | "incus" | "openvz" | "none";
export const RUNTIMES: RuntimeName[] = ["docker", "podman", "incus", "openvz", "none"];

export interface MountPlan {
  runtime: RuntimeName;
  /**
   * mounted: done now; already-mounted: nothing to do; manual: the operator must act (steps);
   * not-created: the container does not exist yet, create it with the steps.
   */
  state: "mounted" | "already-mounted" | "manual" | "not-created";
  hostPath: string;
  containerPath: string;
  steps: string[];
  details?: Record<string, unknown>;
}

export interface RuntimeOptions {
  socket?: string;
  recreate?: boolean;
  /** Injected in tests; the default reaches the runtime's Unix socket. */
  baseUrl?: string;
  fetch?: FetchFn;
}

/**
 * A runtime checks the container before anything changes on the appliance (so a runtime error
 * leaves the appliance untouched), then attaches the socket dir once the container is enrolled.
 */
export type Attach = (socketDir: string) => Promise<MountPlan>;
export type Prepare = (name: string, options: RuntimeOptions) => Promise<Attach>;
