/**
 * The appliance's config file (JSON) and environment overrides. Precedence, lowest first:
 * built-in defaults < config file < VHSM_* environment < command-line flags.
 * Every key is validated; an error names the key and where it came from.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { z } from "zod";
import type { ApplianceConfig } from "./core/config.ts";

const int = (min: number, max: number) => z.number().int().min(min).max(max);

/** Keys a config file may set, with their ranges. Paths are resolved against the file's directory. */
export const CONFIG_KEYS = {
  data: z.string().min(1),
  runDir: z.string().min(1),
  masterKeyFile: z.string().min(1),
  stateFile: z.string().min(1),
  maxFrameBody: int(1024, 1 << 30),
  maxPinAttempts: int(1, 1000),
  kdfLogN: int(10, 22),
  maxContextsPerSession: int(1, 1 << 16),
  keyCacheLimit: int(1, 10_000_000),
  maxOutboundQueue: int(1 << 16, 1 << 31),
  memoryBudget: int(1 << 20, 2 ** 40),
  containerMemoryBudget: z.union([z.literal(0), int(1 << 16, 2 ** 40)]), // 0: half of memoryBudget
  maxRandom: int(1, 1 << 24),
  maxListPage: int(1, 1_000_000),
  auditRequired: z.boolean(),
  auditRotateBytes: int(1 << 16, 2 ** 40),
  maxConnectionsPerContainer: int(1, 1_000_000),
  maxConnections: int(1, 1_000_000),
  maxInflight: int(1, 1_000_000),
  idleTimeoutSeconds: int(0, 7 * 24 * 3600),
  acceptRollback: z.boolean(),
  hashWorkers: int(0, 64),
  hashWorkerNice: int(0, 19),
  offloadBytes: int(1024, 1 << 30),
  signWorkers: int(0, 64),
} as const;

type Key = keyof typeof CONFIG_KEYS;
const PATH_KEYS: Key[] = ["data", "runDir", "masterKeyFile", "stateFile"];

export type ConfigValues = Partial<Record<Key, string | number | boolean>>;

export class ConfigError extends Error {}

/** VHSM_MAX_PIN_ATTEMPTS ⇄ maxPinAttempts. */
export function envName(key: string): string {
  return `VHSM_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
}

function check(key: string, value: unknown, where: string): string | number | boolean {
  const schema = CONFIG_KEYS[key as Key];
  if (!schema) {
    throw new ConfigError(
      `${where}: unknown key "${key}"; known keys: ${Object.keys(CONFIG_KEYS).join(", ")}`,
    );
  }
  const parsed = (schema as z.ZodType).safeParse(value);
  if (!parsed.success) {
    throw new ConfigError(
      `${where}: ${key}: ${parsed.error.issues[0]!.message} (got ${JSON.stringify(value)})`,
    );
  }
  return parsed.data as string | number | boolean;
}

export function readConfigFile(path: string): ConfigValues {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new ConfigError(`config ${path}: ${(err as Error).message}`);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new ConfigError(`config ${path}: expected a JSON object of settings`);
  }
  const out: ConfigValues = {};
  const base = resolve(path, "..");
  for (const [key, value] of Object.entries(json)) {
    const v = check(key, value, `config ${path}`);
    out[key as Key] = PATH_KEYS.includes(key as Key) ? resolve(base, String(v)) : v;
  }
  return out;
}

export function readEnvironment(env: Record<string, string | undefined>): ConfigValues {
  const out: ConfigValues = {};
  for (const key of Object.keys(CONFIG_KEYS) as Key[]) {
    const raw = env[envName(key)];
    if (raw === undefined) continue;
    const schema = CONFIG_KEYS[key] as z.ZodType;
    const isBool = schema.safeParse(true).success;
    const isString = schema.safeParse("x").success;
    const value = isString
      ? raw
      : isBool
        ? raw === "true"
          ? true
          : raw === "false"
            ? false
            : raw
        : Number(raw);
    out[key] = check(key, Number.isNaN(value) ? raw : value, `environment ${envName(key)}`);
    if (PATH_KEYS.includes(key)) out[key] = resolve(String(out[key]));
  }
  return out;
}

/** Applies settings onto a config (data/runDir are applied by the caller, who builds the defaults). */
export function applySettings(config: ApplianceConfig, values: ConfigValues): void {
  for (const [key, value] of Object.entries(values)) {
    if (key === "data" || key === "runDir") continue;
    (config as unknown as Record<string, unknown>)[key] = value;
  }
}
