/**
 * What the sign bench compares: the algorithms, the systems that sign with them (vhsm under several
 * client shapes, the in-process ceilings, the SoftHSM2 peer) and the targets of issue 9.
 */
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import type { KeyTypeName, SignAlgorithm } from "../agent/index.ts";
import type { SpeedAlgorithm } from "./lib/openssl-speed.ts";
import type { P11Key } from "./lib/softhsm.ts";

export interface Algorithm {
  label: string;
  keyType: KeyTypeName;
  alg: SignAlgorithm;
  /** The same algorithm in libvhsm's enum (VHSM_SIGN_*). */
  cAlg: number;
  p11: P11Key;
  speed: SpeedAlgorithm;
  /** node:crypto's digest argument for sign()/verify(). */
  digest: string | null;
  local: () => KeyObject;
}

export const ALGORITHMS: Algorithm[] = [
  {
    label: "Ed25519",
    keyType: "ed25519",
    alg: "ed25519",
    cAlg: 1,
    p11: "ed25519",
    speed: "ed25519",
    digest: null,
    local: () => generateKeyPairSync("ed25519").privateKey,
  },
  {
    label: "ECDSA P-256",
    keyType: "ecdsa-p256",
    alg: "ecdsa-sha256",
    cAlg: 2,
    p11: "p256",
    speed: "ecdsap256",
    digest: "sha256",
    local: () => generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey,
  },
  {
    label: "RSA-2048",
    keyType: "rsa-2048",
    alg: "rsa-pkcs1-sha256",
    cAlg: 8,
    p11: "rsa2048",
    speed: "rsa2048",
    digest: "sha256",
    local: () => generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey,
  },
];

export type Group = "vhsm" | "in-process" | "SoftHSM2";

export interface System {
  id: string;
  label: string;
  /** Bar label in the plots (they have ~60 px, 8 characters, per bar). */
  short: string;
  group: Group;
}

/** TS agent loads from this process: [connections, in flight per connection]. */
export const IN_PROCESS_LOADS: [number, number][] = [
  [1, 1],
  [1, 16],
  [16, 16],
];
export const TS_FLEET = { processes: 2, connections: 8, inFlight: 16 };
export const C_PROCESSES = 4;
/** libvhsm processes with a batch of signatures in flight each (vhsm_sign_many). */
export const C_PIPELINED = { processes: [2, 4], inFlight: 16 };
export const PEER_PROCESSES = [1, 2];

export const SYSTEMS: System[] = [
  ...IN_PROCESS_LOADS.map(
    ([n, f]): System => ({
      id: `vhsm-ts-${n}x${f}`,
      label: `vhsm, TS agent, ${n} connection${n > 1 ? "s" : ""} × ${f} in flight`,
      short: n === 16 ? "vhsm 1p" : `vhsm ${n}×${f}`,
      group: "vhsm",
    }),
  ),
  {
    id: "vhsm-ts-fleet",
    label: `vhsm, TS agent, ${TS_FLEET.processes} processes × ${TS_FLEET.connections} connections × ${TS_FLEET.inFlight} in flight`,
    short: `vhsm ${TS_FLEET.processes}p`,
    group: "vhsm",
  },
  {
    id: "vhsm-c",
    label: `vhsm, C libvhsm, ${C_PROCESSES} processes × 1 in flight`,
    short: "vhsm C",
    group: "vhsm",
  },
  ...C_PIPELINED.processes.map(
    (p): System => ({
      id: `vhsm-c-${p}x${C_PIPELINED.inFlight}`,
      label: `vhsm, C libvhsm, ${p} processes × ${C_PIPELINED.inFlight} in flight`,
      short: `C ${p}×${C_PIPELINED.inFlight}`,
      group: "vhsm",
    }),
  ),
  { id: "node", label: "node:crypto in-process, 1 thread", short: "node", group: "in-process" },
  { id: "openssl", label: "`openssl speed -multi 2`", short: "ossl 2p", group: "in-process" },
  ...PEER_PROCESSES.flatMap((p): System[] => [
    {
      id: `softhsm-${p}p`,
      label: `SoftHSM2 in-process, ${p} process${p > 1 ? "es" : ""}`,
      short: `shsm ${p}p`,
      group: "SoftHSM2",
    },
    {
      id: `p11kit-${p}p`,
      label: `SoftHSM2 via \`p11-kit server\`, ${p} process${p > 1 ? "es" : ""}`,
      short: `p11k ${p}p`,
      group: "SoftHSM2",
    },
  ]),
];

export interface Target {
  algorithm: string;
  text: string;
  /** The system compared with, or null for an absolute figure. */
  against: string | null;
  /** Signatures/s, or a ratio when `against` is set. */
  goal: number;
}

/** Issue 9: each is judged on the best vhsm configuration of the run. */
export const TARGETS: Target[] = [
  { algorithm: "Ed25519", text: "≥ 40,000 signatures/s", against: null, goal: 40_000 },
  { algorithm: "ECDSA P-256", text: "≥ 30,000 signatures/s", against: null, goal: 30_000 },
  {
    algorithm: "ECDSA P-256",
    text: "≥ 4× SoftHSM2 behind p11-kit (2 processes)",
    against: "p11kit-2p",
    goal: 4,
  },
  {
    algorithm: "ECDSA P-256",
    text: "≥ 1.5× SoftHSM2 in-process (2 processes)",
    against: "softhsm-2p",
    goal: 1.5,
  },
  { algorithm: "Ed25519", text: "≥ 8× SoftHSM2 in-process (2 processes)", against: "softhsm-2p", goal: 8 },
];
