/** What every command gets: the admin client, the output, the PIN sources, runtime overrides. */

import type { AdminClient } from "./admin-client.ts";
import type { Output } from "./output.ts";
import type { FetchFn } from "./runtimes/transport.ts";

export interface Ctx {
  admin: AdminClient;
  out: Output;
  env: Record<string, string | undefined>;
  prompt?: (question: string) => Promise<string>;
  /** Tests point the runtime clients at msw; production leaves these unset. */
  runtimeBaseUrl?: string;
  runtimeFetch?: FetchFn;
}

/** A container as the admin API describes it (GET /v1/containers). */
export interface ContainerInfo {
  name: string;
  created: string;
  revoked: boolean;
  uid: number | null;
  gid: number | null;
  socket: string;
  users: number;
  lockedUsers: number;
  keys: number;
  sessions: number;
  lastActivity: number | null;
}
