/**
 * Incus (and LXD, same REST API) over its Unix socket: adds a `disk` device that binds the socket
 * dir at /run/vhsm. Disk devices hot-plug, so a running container sees it at once.
 */
import { ProvisionError } from "../errors.ts";
import { RuntimeHttp } from "./transport.ts";
import { type Attach, CONTAINER_DIR, type MountPlan, type RuntimeOptions } from "./types.ts";

export const DEFAULT_INCUS_SOCKET = "/var/lib/incus/unix.socket";
export const DEVICE_NAME = "vhsm";

type Devices = Record<string, Record<string, string>>;

export async function prepareIncus(name: string, options: RuntimeOptions): Promise<Attach> {
  const http = new RuntimeHttp("the Incus daemon", {
    socket: options.socket ?? DEFAULT_INCUS_SOCKET,
    baseUrl: options.baseUrl ?? "http://incus",
    fetch: options.fetch,
  });
  const path = `/1.0/instances/${encodeURIComponent(name)}`;
  const r = await http.request("GET", path);
  if (r.status !== 200 || r.json?.type === "error") http.fail(`get instance ${name}`, r);
  const instance = r.json.metadata as { devices?: Devices; expanded_devices?: Devices; status?: string };
  const all: Devices = { ...(instance.expanded_devices ?? {}), ...(instance.devices ?? {}) };
  const atTarget = Object.entries(all).find(([, d]) => d.type === "disk" && d.path === CONTAINER_DIR);
  if (atTarget && atTarget[0] !== DEVICE_NAME && !atTarget[1].source?.endsWith(`/containers/${name}`)) {
    throw new ProvisionError(
      "RUNTIME_CONFLICT",
      `instance ${name} has device ${atTarget[0]} (${atTarget[1].source}) at ${CONTAINER_DIR}`,
    );
  }

  return async (socketDir) => {
    const plan = (state: MountPlan["state"], steps: string[]): MountPlan => ({
      runtime: "incus",
      state,
      hostPath: socketDir,
      containerPath: CONTAINER_DIR,
      steps,
    });
    if (atTarget && atTarget[1].source === socketDir) {
      return plan("already-mounted", [
        `${name} already has device ${atTarget[0]}: ${socketDir} at ${CONTAINER_DIR}`,
      ]);
    }
    const device = { type: "disk", source: socketDir, path: CONTAINER_DIR };
    const p = await http.request("PATCH", path, { devices: { [DEVICE_NAME]: device } });
    if (p.status === 202 && p.json?.operation) {
      const w = await http.request("GET", `${p.json.operation}/wait?timeout=30`);
      if (w.status !== 200 || w.json?.metadata?.status_code >= 400) http.fail(`add device to ${name}`, w);
    } else if (p.status !== 200 || p.json?.type === "error") {
      http.fail(`add device to ${name}`, p);
    }
    return plan("mounted", [
      `added disk device "${DEVICE_NAME}" to ${name}: ${socketDir} at ${CONTAINER_DIR}`,
      `(same as: incus config device add ${name} ${DEVICE_NAME} disk source=${socketDir} path=${CONTAINER_DIR})`,
    ]);
  };
}
