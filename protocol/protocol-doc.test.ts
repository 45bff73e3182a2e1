/** docs/protocol.md must describe the message table, enums and status codes the code actually has. */
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { DOC_PATH, renderDoc } from "../scripts/gen-vectors.ts";
import { MESSAGES } from "./messages.ts";
import { Status } from "./status.ts";

const doc = readFileSync(DOC_PATH, "utf8");

test("the generated sections of docs/protocol.md are up to date (bun scripts/gen-vectors.ts)", () => {
  const fresh = renderDoc(doc);
  const stale = doc.split("\n").filter((line, i) => line !== fresh.split("\n")[i]);
  expect(stale.slice(0, 5)).toEqual([]);
  expect(doc).toBe(fresh);
});

test("the doc names every message with its opcode and every status code", () => {
  const missing = [
    ...Object.entries(MESSAGES)
      .filter(
        ([name, s]) =>
          !new RegExp(`\\| 0x${s.opcode.toString(16).padStart(4, "0")} +\\| ${name} +\\|`).test(doc),
      )
      .map(([name]) => name),
    ...Object.entries(Status)
      .filter(([name, code]) => !new RegExp(`\\| ${code} +\\| ${name} +\\|`).test(doc))
      .map(([name]) => name),
  ];
  expect(missing).toEqual([]);
});
