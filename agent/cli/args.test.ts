import { expect, test } from "bun:test";
import { hexOption, integerOption, parse, wantsJson } from "./args.ts";

test("a PIN or secret option is refused in any spelling, without echoing the value", () => {
  for (const argv of [["--pin", "x1"], ["--pin=x1"], ["-pin", "x1"], ["--new-pin=x1"], ["--secret", "x1"]]) {
    let message = "";
    try {
      parse(argv);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain("on the command line");
    expect(message).not.toContain("x1");
  }
  // after `--` everything is a positional, even a word that looks like --pin
  expect(parse(["key", "info", "--", "--pin"]).positionals).toEqual(["key", "info", "--pin"]);
});

test("options may come before or after the command words", () => {
  const p = parse(["--json", "key", "info", "k1", "--socket", "/s"]);
  expect(p.positionals).toEqual(["key", "info", "k1"]);
  expect(p.values).toMatchObject({ json: true, socket: "/s" });
  expect(wantsJson(["key", "list", "--json"])).toBe(true);
  expect(wantsJson(["key", "info", "--", "--json"])).toBe(false);
});

test("unknown options are usage errors", () => {
  expect(() => parse(["--frobnicate"])).toThrow(/Unknown option '--frobnicate'/);
});

test("integers and hex are checked strictly", () => {
  expect(integerOption("42", "N", 1, 100)).toBe(42);
  for (const bad of ["0", "101", "1e2", "0x10", " 5", "-3", ""]) {
    expect(() => integerOption(bad, "N", 1, 100)).toThrow("whole number");
  }
  expect(hexOption("00ff", "--verify").toString("hex")).toBe("00ff");
  expect(hexOption("0xABcd", "--verify").toString("hex")).toBe("abcd");
  for (const bad of ["", "0", "zz", "0g"]) expect(() => hexOption(bad, "--verify")).toThrow("hex digits");
});
