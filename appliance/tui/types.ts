/**
 * The JSON the dashboard reads: `GET /v1/stats`, `GET /v1/containers`, `GET /v1/containers/:name/users`
 * (see appliance/core/admin/stats.ts and actions.ts). Only the fields the dashboard shows are named.
 */

export interface StatusHeader {
  version: string;
  uptimeSeconds: number;
  dataDir: string;
  dbSize: number;
  containers: number;
  users: number;
  keys: number;
  connections: number;
  selfTest: string;
}

export interface LatencySummary {
  p50us: number;
  p99us: number;
  count: number;
}

export interface ContainerCounters {
  ops: number;
  errors: number;
  bytes: number;
  lastActivity: number;
  connections: number;
}

export interface EventEntry {
  time: number;
  level: string;
  message: string;
  fields?: Record<string, unknown>;
}

export interface StatsSnapshot {
  time: number;
  status: StatusHeader;
  ops: Record<string, number>;
  bytes: Record<string, number>;
  latency: Record<string, LatencySummary>;
  errors: Record<string, number>;
  containers: Record<string, ContainerCounters>;
  frameErrors: number;
  lockouts: number;
  connectionsTotal: number;
  /** Bytes held for clients against the memory budget; absent from older appliances. */
  memory?: {
    heldBytes: number;
    budgetBytes: number;
    refusals: number;
    /** The most one container may hold, and what each holding some holds (absent from older appliances). */
    containerBudgetBytes?: number;
    byContainer?: Record<string, number>;
  };
  /** Absent from appliances older than the dashboard. */
  events?: EventEntry[];
}

export interface ContainerInfo {
  name: string;
  revoked: boolean;
  users: number;
  lockedUsers: number;
  keys: number;
  sessions: number;
  lastActivity: number | null;
}

/** What the dashboard shows of a user: counts and flags, never key material. */
export interface UserInfo {
  name: string;
  failedAttempts: number;
  locked: boolean;
  keys: number;
  loggedIn: boolean;
}
