/**
 * Docker and Podman (its Docker-compatible API) through the Engine API v1.43 over the daemon's Unix
 * socket. Docker cannot add a mount to an existing container: we either print the exact `--mount`
 * flag or, with --recreate, rebuild the container with its own configuration plus the mount.
 */
import { ProvisionError } from "../errors.ts";
import { recreateWithMount } from "./docker-recreate.ts";
import { RuntimeHttp } from "./transport.ts";
import { type Attach, CONTAINER_DIR, type MountPlan, type RuntimeOptions } from "./types.ts";

export const API = "/v1.43";
export const DEFAULT_SOCKETS = { docker: "/var/run/docker.sock", podman: "/run/podman/podman.sock" };

/** The subset of ContainerInspectResponse we read. */
export interface DockerInspect {
  Id: string;
  Name: string;
  State?: { Running?: boolean; Status?: string };
  Config: Record<string, unknown> & { Image?: string; Hostname?: string };
  HostConfig: Record<string, unknown> & { Mounts?: unknown[] | null; Binds?: string[] | null };
  Mounts?: { Type?: string; Source?: string; Destination?: string }[];
  NetworkSettings?: { Networks?: Record<string, Record<string, unknown>> };
}

export const mountFlag = (dir: string) => `--mount type=bind,src=${dir},dst=${CONTAINER_DIR}`;

export function dockerHttp(runtime: "docker" | "podman", o: RuntimeOptions): RuntimeHttp {
  return new RuntimeHttp(runtime === "docker" ? "the Docker daemon" : "Podman's Docker-compatible API", {
    socket: o.socket ?? DEFAULT_SOCKETS[runtime],
    baseUrl: o.baseUrl ?? `http://${runtime}`,
    fetch: o.fetch,
  });
}

export function prepareDocker(runtime: "docker" | "podman") {
  return async (name: string, options: RuntimeOptions): Promise<Attach> => {
    const http = dockerHttp(runtime, options);
    const r = await http.request("GET", `${API}/containers/${encodeURIComponent(name)}/json`);
    if (r.status === 404 && options.recreate) http.fail(`inspect ${name}`, r);
    if (r.status !== 404 && r.status !== 200) http.fail(`inspect ${name}`, r);
    const inspect = r.status === 200 ? (r.json as DockerInspect) : null;
    if (inspect) existingMountMatches(inspect, null); // refuse a foreign /run/vhsm before enrolling

    return async (socketDir) => {
      const plan = (state: MountPlan["state"], steps: string[], details?: Record<string, unknown>) =>
        ({ runtime, state, hostPath: socketDir, containerPath: CONTAINER_DIR, steps, details }) as MountPlan;
      const cli = runtime;
      if (!inspect) {
        return plan("not-created", [
          `${runtime} has no container named ${name} yet; create it with the socket dir mounted:`,
          `  ${cli} run --name ${name} ${mountFlag(socketDir)} IMAGE ...`,
          `  (or ${cli} create ...; with compose: volumes: ["${socketDir}:${CONTAINER_DIR}"])`,
        ]);
      }
      if (existingMountMatches(inspect, socketDir)) {
        return plan("already-mounted", [`${name} already has ${socketDir} mounted at ${CONTAINER_DIR}`]);
      }
      if (!options.recreate) {
        return plan("manual", [
          `${runtime} cannot add a mount to an existing container (${name} is ${inspect.State?.Status ?? "created"}).`,
          `Recreate it with the same options plus:  ${mountFlag(socketDir)}`,
          `or run this again with --recreate: vhsm-provision copies its configuration, stops it, keeps it`,
          `as a renamed backup and starts an identical container that has the mount.`,
        ]);
      }
      const done = await recreateWithMount(http, inspect, name, socketDir);
      return plan(
        "mounted",
        [
          `recreated ${name} with ${socketDir} mounted at ${CONTAINER_DIR}`,
          `the old container is kept, stopped, as ${done.backupName}; remove it when satisfied: ${cli} rm ${done.backupName}`,
        ],
        { ...done },
      );
    };
  };
}

/** true: our dir is mounted; false: nothing at /run/vhsm; throws when something else is there. */
function existingMountMatches(inspect: DockerInspect, socketDir: string | null): boolean {
  const m = (inspect.Mounts ?? []).find((x) => x.Destination === CONTAINER_DIR);
  if (!m) return false;
  if (socketDir === null) {
    if (m.Source?.endsWith(`/containers/${inspect.Name.replace(/^\//, "")}`)) return true;
    throw new ProvisionError(
      "RUNTIME_CONFLICT",
      `${inspect.Name.replace(/^\//, "")} already mounts ${m.Source} at ${CONTAINER_DIR}`,
    );
  }
  if (m.Source === socketDir) return true;
  throw new ProvisionError(
    "RUNTIME_CONFLICT",
    `the container mounts ${m.Source} at ${CONTAINER_DIR}, not ${socketDir}`,
  );
}
