/** Appliance configuration with secure defaults. */
import { totalmem } from "node:os";
import { join } from "node:path";
import { DEFAULT_MAX_BODY } from "../../protocol/frame.ts";
import { DEFAULT_KDF } from "./crypto/kdf.ts";
import { defaultMemoryBudget } from "./memory-budget.ts";

export interface ApplianceConfig {
  dataDir: string;
  runDir: string;
  /** Largest frame body accepted, in bytes; larger frames are refused and the connection closed. */
  maxFrameBody: number;
  /** Wrong PINs before a user is locked. */
  maxPinAttempts: number;
  /** scrypt cost (log2 N) for new PIN wraps. */
  kdfLogN: number;
  /** Streaming contexts per session. */
  maxContextsPerSession: number;
  /** Decrypted keys kept per logged-in user. */
  keyCacheLimit: number;
  /** Outbound bytes queued for a client that does not read before it is disconnected. */
  maxOutboundQueue: number;
  /** Bytes held for all clients together (requests arriving, running, waiting; answers queued). */
  memoryBudget: number;
  /** The part of memoryBudget one container's connections may hold together; 0 = half of it. */
  containerMemoryBudget: number;
  /** Largest RANDOM request. */
  maxRandom: number;
  /** Largest KEY_LIST page. */
  maxListPage: number;
  /** Fail operations whose audit record cannot be written (records are then written synchronously). */
  auditRequired: boolean;
  /** File holding the master key that wraps service users' data keys (created on first need). */
  masterKeyFile: string;
  /** Worker threads for large one-shot HMACs/digests (0 = hash on the main thread). */
  hashWorkers: number;
  /** How much lower the hash workers' scheduling priority (nice) is than the appliance's; 0 = the same. */
  hashWorkerNice: number;
  /** Payload size from which a one-shot HMAC/digest goes to a worker. */
  offloadBytes: number;
  /** Worker threads that share signing with the main thread under load (0 = sign on the main thread). */
  signWorkers: number;
  /** Rotate the audit log when it grows past this many bytes. */
  auditRotateBytes: number;
  /** Open connections per container; more are refused at accept with LIMIT_EXCEEDED. */
  maxConnectionsPerContainer: number;
  /** Open connections over all containers; more are refused at accept with LIMIT_EXCEEDED. */
  maxConnections: number;
  /** Requests per connection not yet answered (running, waiting, or with the answer still queued). */
  maxInflight: number;
  /** A connection that sends no request for this many seconds is closed; 0 = never. */
  idleTimeoutSeconds: number;
  /** The sealed rollback-guard state file (generation counter); default `<data>/state`. */
  stateFile: string;
  /** Start even though the key store is older than the state file says (a deliberate restore). */
  acceptRollback: boolean;
}

export function defaultConfig(dataDir: string, runDir: string): ApplianceConfig {
  return {
    dataDir,
    runDir,
    maxFrameBody: DEFAULT_MAX_BODY,
    maxPinAttempts: 10,
    kdfLogN: DEFAULT_KDF.logN,
    maxContextsPerSession: 64,
    keyCacheLimit: 10_000,
    maxOutboundQueue: 64 * 1024 * 1024,
    memoryBudget: defaultMemoryBudget(totalmem()),
    containerMemoryBudget: 0,
    maxRandom: 1024 * 1024,
    maxListPage: 10_000,
    auditRequired: false,
    masterKeyFile: join(dataDir, "master.key"),
    auditRotateBytes: 64 * 1024 * 1024,
    hashWorkers: 2,
    hashWorkerNice: 5,
    offloadBytes: 64 * 1024,
    signWorkers: 1,
    maxConnectionsPerContainer: 4096,
    maxConnections: 16384,
    maxInflight: 1024,
    idleTimeoutSeconds: 15 * 60,
    stateFile: join(dataDir, "state"),
    acceptRollback: false,
  };
}
