import { describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { applySettings, ConfigError, envName, readConfigFile, readEnvironment } from "./config-file.ts";
import { defaultConfig } from "./core/config.ts";

const dir = mkdtempSync(join(tmpdir(), "vhsm-config-"));
const write = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

describe("the config file", () => {
  test("sets known keys, resolving paths against the file's directory", () => {
    const values = readConfigFile(
      write(
        "ok.json",
        JSON.stringify({
          data: "state",
          maxPinAttempts: 5,
          auditRequired: true,
          masterKeyFile: "/secure/mk",
        }),
      ),
    );
    expect(values).toEqual({
      data: join(dir, "state"),
      maxPinAttempts: 5,
      auditRequired: true,
      masterKeyFile: "/secure/mk",
    });
    const config = defaultConfig("/d", "/r");
    applySettings(config, values);
    expect([config.maxPinAttempts, config.auditRequired, config.masterKeyFile, config.dataDir]).toEqual([
      5,
      true,
      "/secure/mk",
      "/d",
    ]);
  });

  test("errors name the file and the bad key", () => {
    expect(() => readConfigFile(write("bad1.json", '{"maxPinAttempts": "ten"}'))).toThrow(
      /bad1\.json: maxPinAttempts: .*"ten"/,
    );
    expect(() => readConfigFile(write("bad2.json", '{"maxPinAtempts": 3}'))).toThrow(
      /unknown key "maxPinAtempts"/,
    );
    expect(() => readConfigFile(write("bad3.json", '{"kdfLogN": 40}'))).toThrow(/kdfLogN/);
    expect(() => readConfigFile(write("bad4.json", "{not json"))).toThrow(ConfigError);
    expect(() => readConfigFile(write("bad5.json", "[1]"))).toThrow(/JSON object/);
    // a container's memory share: 0 (half the budget) or at least 64 KiB, never a few bytes
    expect(() => readConfigFile(write("bad6.json", '{"containerMemoryBudget": 100}'))).toThrow(
      /containerMemoryBudget/,
    );
    expect(readConfigFile(write("ok6.json", '{"containerMemoryBudget": 0}')).containerMemoryBudget).toBe(0);
  });
});

describe("environment overrides", () => {
  test("VHSM_* variables named after the keys, typed and validated", () => {
    expect(envName("maxPinAttempts")).toBe("VHSM_MAX_PIN_ATTEMPTS");
    expect(
      readEnvironment({
        VHSM_MAX_PIN_ATTEMPTS: "7",
        VHSM_AUDIT_REQUIRED: "true",
        VHSM_DATA: "/x/y",
        OTHER: "1",
      }),
    ).toEqual({
      maxPinAttempts: 7,
      auditRequired: true,
      data: "/x/y",
    });
    expect(() => readEnvironment({ VHSM_MAX_PIN_ATTEMPTS: "many" })).toThrow(
      /VHSM_MAX_PIN_ATTEMPTS: maxPinAttempts/,
    );
    expect(() => readEnvironment({ VHSM_AUDIT_REQUIRED: "yes" })).toThrow(/VHSM_AUDIT_REQUIRED/);
  });
});
