/** Appliance configuration with secure defaults. */
import { DEFAULT_MAX_BODY } from "../../protocol/frame.ts";
import { DEFAULT_KDF } from "./crypto/kdf.ts";

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
  /** Largest RANDOM request. */
  maxRandom: number;
  /** Largest KEY_LIST page. */
  maxListPage: number;
  /** Fail operations whose audit record cannot be written (records are then written synchronously). */
  auditRequired: boolean;
  /** Rotate the audit log when it grows past this many bytes. */
  auditRotateBytes: number;
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
    maxRandom: 1024 * 1024,
    maxListPage: 10_000,
    auditRequired: false,
    auditRotateBytes: 64 * 1024 * 1024,
  };
}
