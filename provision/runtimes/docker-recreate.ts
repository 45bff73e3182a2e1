/**
 * Recreates a Docker/Podman container with its own configuration plus the vhsm mount:
 * inspect → stop → rename the old one to a backup name → create a copy (same name) with the mount →
 * start it if the old one was running. The old container is kept, stopped, so nothing is lost;
 * if the copy cannot be created the old one is renamed back and restarted.
 */
import { ProvisionError } from "../errors.ts";
import type { DockerInspect } from "./docker.ts";
import { API } from "./docker.ts";
import type { RuntimeHttp } from "./transport.ts";
import { CONTAINER_DIR } from "./types.ts";

/** Fields of NetworkSettings.Networks[*] that are configuration (the rest is runtime state). */
const ENDPOINT_CONFIG = ["IPAMConfig", "Links", "Aliases", "DriverOpts"];

export function createBodyFrom(inspect: DockerInspect, socketDir: string): Record<string, unknown> {
  const shortId = inspect.Id.slice(0, 12);
  const config: Record<string, unknown> = { ...inspect.Config };
  // Docker sets the hostname to the short id unless one was chosen; the copy gets its own.
  if (config.Hostname === shortId) delete config.Hostname;
  const mounts = [...(inspect.HostConfig.Mounts ?? [])];
  mounts.push({ Type: "bind", Source: socketDir, Target: CONTAINER_DIR, ReadOnly: false });
  const endpoints: Record<string, Record<string, unknown>> = {};
  for (const [net, ep] of Object.entries(inspect.NetworkSettings?.Networks ?? {})) {
    const copy: Record<string, unknown> = {};
    for (const k of ENDPOINT_CONFIG) if (ep[k] != null) copy[k] = ep[k];
    if (Array.isArray(copy.Aliases)) copy.Aliases = copy.Aliases.filter((a) => a !== shortId);
    endpoints[net] = copy;
  }
  return {
    ...config,
    HostConfig: { ...inspect.HostConfig, Mounts: mounts },
    NetworkingConfig: { EndpointsConfig: endpoints },
  };
}

export interface Recreated {
  oldId: string;
  newId: string;
  backupName: string;
  started: boolean;
  warnings: string[];
}

export async function recreateWithMount(
  http: RuntimeHttp,
  inspect: DockerInspect,
  name: string,
  socketDir: string,
): Promise<Recreated> {
  const body = createBodyFrom(inspect, socketDir);
  const wasRunning = inspect.State?.Running === true;
  const backupName = `${name}-pre-vhsm-${Date.now().toString(36)}`;
  const old = `${API}/containers/${inspect.Id}`;
  const ok = (r: { status: number }) => r.status >= 200 && r.status < 300;

  if (wasRunning) {
    const r = await http.request("POST", `${old}/stop`);
    if (!ok(r) && r.status !== 304) http.fail(`stop ${name}`, r);
  }
  const renamed = await http.request("POST", `${old}/rename?name=${encodeURIComponent(backupName)}`);
  if (!ok(renamed)) {
    if (wasRunning) await http.request("POST", `${old}/start`);
    http.fail(`rename ${name} to ${backupName}`, renamed);
  }
  const created = await http.request(
    "POST",
    `${API}/containers/create?name=${encodeURIComponent(name)}`,
    body,
  );
  if (!ok(created)) {
    // put everything back as it was
    await http.request("POST", `${old}/rename?name=${encodeURIComponent(name)}`);
    if (wasRunning) await http.request("POST", `${old}/start`);
    http.fail(`create the copy of ${name} (the original was restored)`, created);
  }
  const newId = String(created.json?.Id ?? "");
  if (wasRunning) {
    const started = await http.request("POST", `${API}/containers/${newId}/start`);
    if (!ok(started) && started.status !== 304) {
      throw new ProvisionError(
        "RUNTIME_ERROR",
        `created ${name} with the mount but it does not start: ${started.json?.message ?? started.status}; the old container is kept, stopped, as ${backupName}`,
      );
    }
  }
  return {
    oldId: inspect.Id,
    newId,
    backupName,
    started: wasRunning,
    warnings: created.json?.Warnings ?? [],
  };
}
