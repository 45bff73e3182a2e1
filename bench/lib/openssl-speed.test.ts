import { expect, test } from "bun:test";
import { parseSpeed } from "./openssl-speed.ts";

// the summary of `openssl speed -multi 2 ed25519 ecdsap256 rsa2048` from OpenSSL 3.0.19 on this machine
const OUTPUT = `Got: +F4:3:256:20679.000000:9317.821782 from 0
version: 3.0.19
                  sign    verify    sign/s verify/s
rsa 2048 bits 0.000224s 0.000016s   4458.4  64265.0
                              sign    verify    sign/s verify/s
 256 bits ecdsa (nistp256)   0.0000s   0.0001s  54560.0  16519.8
                              sign    verify    sign/s verify/s
 253 bits EdDSA (Ed25519)   0.0000s   0.0001s  27464.0   8293.3
`;

test("parseSpeed reads sign/s from the summary table, not the children's lines", () => {
  expect(parseSpeed(OUTPUT)).toEqual({ rsa2048: 4458.4, ecdsap256: 54560, ed25519: 27464 });
});

test("parseSpeed leaves out an algorithm the output does not have", () => {
  expect(parseSpeed(OUTPUT.split("\n").slice(0, 4).join("\n"))).toEqual({ rsa2048: 4458.4 });
});
