export { explainStatus, STATUS_EXPLANATION, Status, statusName, VhsmError } from "../protocol/status.ts";
export type { SignOptions } from "./src/client.ts";
export { type ConnectOptions, VhsmClient } from "./src/client.ts";
export type { KeyInfo } from "./src/keys.ts";
export type { HashAlgorithm, KeyTypeName, SignAlgorithm, UsageName } from "./src/names.ts";
export { DigestStream, HmacStream } from "./src/streams.ts";
