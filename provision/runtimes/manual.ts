/**
 * Runtimes we only explain: OpenVZ (a bind mount into the container's root, made permanent by a
 * `CTID.mount` script that vzctl runs at every start) and `none` (mount the host path yourself).
 */
import { type Attach, CONTAINER_DIR, type MountPlan } from "./types.ts";

/** The per-container mount script OpenVZ runs (as root, on the host) each time the container starts. */
export function openvzMountScript(socketDir: string): string {
  const v = (name: string) => `$\{${name}}`; // shell variables, expanded by bash on the host
  return [
    "#!/bin/bash",
    "# vhsm: bind the appliance's socket dir for this container at /run/vhsm",
    ". /etc/vz/vz.conf",
    `. ${v("VE_CONFFILE")}`,
    `SRC=${socketDir}`,
    `DST=${CONTAINER_DIR}`,
    `mkdir -p "${v("VE_ROOT")}${v("DST")}"`,
    `mount -n --bind "${v("SRC")}" "${v("VE_ROOT")}${v("DST")}"`,
    "",
  ].join("\n");
}

export async function prepareOpenvz(ctid: string): Promise<Attach> {
  return async (socketDir): Promise<MountPlan> => ({
    runtime: "openvz",
    state: "manual",
    hostPath: socketDir,
    containerPath: CONTAINER_DIR,
    steps: [
      `1. make the mount permanent: save this as /etc/vz/conf/${ctid}.mount and chmod 755 it`,
      ...openvzMountScript(socketDir)
        .trimEnd()
        .split("\n")
        .map((l) => `     ${l}`),
      `2. apply it now without a restart (the container's root is /vz/root/${ctid} while it runs):`,
      `     mkdir -p /vz/root/${ctid}${CONTAINER_DIR} && mount -n --bind ${socketDir} /vz/root/${ctid}${CONTAINER_DIR}`,
      `   or restart it: vzctl restart ${ctid}`,
      `3. if the container mounts a tmpfs over /run at boot it hides the bind mount: mount at another`,
      `   path instead and set VHSM_SOCKET=<path>/vhsm.sock for the clients inside`,
    ],
    details: { mountScript: openvzMountScript(socketDir), ctid },
  });
}

export async function prepareNone(name: string): Promise<Attach> {
  return async (socketDir): Promise<MountPlan> => ({
    runtime: "none",
    state: "manual",
    hostPath: socketDir,
    containerPath: CONTAINER_DIR,
    steps: [
      `bind-mount ${socketDir} at ${CONTAINER_DIR} inside ${name} (the directory, not the socket, so a`,
      `restarted appliance's new socket is seen), e.g.: mount --bind ${socketDir} <container-root>${CONTAINER_DIR}`,
    ],
  });
}
