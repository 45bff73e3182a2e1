/**
 * Where the dashboard's numbers come from: the admin socket of a running appliance (`top`), or the
 * admin actions of this process (`serve` on a TTY), which answer the same JSON without HTTP.
 */
import type { AdminActions } from "../core/admin/actions.ts";
import type { ContainerInfo, StatsSnapshot, UserInfo } from "./types.ts";

export interface DashboardSource {
  /** Shown in the header: where the numbers come from. */
  readonly label: string;
  stats(): Promise<StatsSnapshot>;
  containers(): Promise<ContainerInfo[]>;
  users(container: string): Promise<UserInfo[]>;
}

export const DEFAULT_ADMIN_SOCKET = "/run/vhsm/admin.sock";

export class AdminSocketError extends Error {}

export function adminSocketSource(socket: string): DashboardSource {
  const get = async <T>(path: string): Promise<T> => {
    let res: Response;
    try {
      res = await fetch(`http://localhost${path}`, { unix: socket } as RequestInit);
    } catch (err) {
      const code = (err as { code?: string }).code;
      const why =
        code === "ENOENT"
          ? "no such socket; is the appliance running? (--admin-socket PATH)"
          : code === "EACCES"
            ? "permission denied; the admin socket is root-only"
            : (err as Error).message;
      throw new AdminSocketError(`cannot reach the admin socket ${socket}: ${why}`);
    }
    const json = (await res.json()) as T & { error?: { code?: string; message?: string } };
    if (!res.ok) {
      throw new AdminSocketError(`${path}: ${json.error?.code ?? res.status} ${json.error?.message ?? ""}`);
    }
    return json;
  };
  return {
    label: socket,
    stats: () => get<StatsSnapshot>("/v1/stats"),
    containers: () => get<ContainerInfo[]>("/v1/containers"),
    users: (name) => get<UserInfo[]>(`/v1/containers/${encodeURIComponent(name)}/users`),
  };
}

export function inProcessSource(actions: AdminActions): DashboardSource {
  return {
    label: "in-process",
    stats: async () => actions.stats() as unknown as StatsSnapshot,
    containers: async () => actions.listContainers(),
    users: async (name) => actions.listUsers(name),
  };
}
