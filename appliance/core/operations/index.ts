/** The one table of operations: each message name maps to the handler named after it. */
import type { MessageName } from "../../../protocol/messages.ts";
import { Decrypt, Encrypt } from "./crypt-ops.ts";
import { Digest, DigestFinal, DigestInit, DigestUpdate } from "./digest-ops.ts";
import type { Handler, SplitHandler } from "./handler.ts";
import { Hmac, HmacFinal, HmacInit, HmacUpdate, HmacVerify } from "./hmac-ops.ts";
import {
  KeyCount,
  KeyDelete,
  KeyGenerate,
  KeyImport,
  KeyInfo,
  KeyList,
  KeyRotate,
  KeyUpdate,
} from "./key-ops.ts";
import { Random } from "./random-ops.ts";
import { Hello, Login, Logout, PinChange, Ping } from "./session-ops.ts";
import { KeyPublic, Sign, Verify } from "./sign-ops.ts";
import { Unwrap, Wrap } from "./wrap-ops.ts";

export const HANDLERS: { [N in MessageName]: Handler<N> } = {
  HELLO: Hello,
  LOGIN: Login,
  LOGOUT: Logout,
  PIN_CHANGE: PinChange,
  PING: Ping,
  KEY_GENERATE: KeyGenerate,
  KEY_IMPORT: KeyImport,
  KEY_DELETE: KeyDelete,
  KEY_LIST: KeyList,
  KEY_COUNT: KeyCount,
  KEY_INFO: KeyInfo,
  KEY_PUBLIC: KeyPublic,
  KEY_ROTATE: KeyRotate,
  KEY_UPDATE: KeyUpdate,
  DIGEST: Digest,
  DIGEST_INIT: DigestInit,
  DIGEST_UPDATE: DigestUpdate,
  DIGEST_FINAL: DigestFinal,
  HMAC: Hmac,
  HMAC_INIT: HmacInit,
  HMAC_UPDATE: HmacUpdate,
  HMAC_FINAL: HmacFinal,
  HMAC_VERIFY: HmacVerify,
  RANDOM: Random,
  SIGN: Sign,
  VERIFY: Verify,
  ENCRYPT: Encrypt,
  DECRYPT: Decrypt,
  WRAP: Wrap,
  UNWRAP: Unwrap,
};

/**
 * Operations whose large bodies are taken as they arrived, in pieces, rather than copied together:
 * their last field is `data`, which their handlers only feed to a hash (a worker thread may take
 * the pieces' buffers). Typed so that a handler that cannot take scattered data does not compile.
 */
const SPLIT_HANDLERS: { [N in MessageName]?: SplitHandler<N> } = {
  HMAC: Hmac,
  HMAC_UPDATE: HmacUpdate,
  DIGEST: Digest,
  DIGEST_UPDATE: DigestUpdate,
};
export const SPLIT_OPERATIONS: ReadonlySet<MessageName> = new Set(
  Object.keys(SPLIT_HANDLERS) as MessageName[],
);

/** Operations that change session state: later requests on the connection wait for them. */
export const BARRIERS: ReadonlySet<MessageName> = new Set<MessageName>([
  "HELLO",
  "LOGIN",
  "LOGOUT",
  "PIN_CHANGE",
]);

/** Coarse kinds for metrics and the dashboard. */
export function operationKind(name: MessageName): string {
  if (name.startsWith("HMAC")) return "hmac";
  if (name.startsWith("DIGEST")) return "digest";
  if (name.startsWith("KEY_")) return "keymgmt";
  if (name === "RANDOM") return "random";
  if (name === "SIGN" || name === "VERIFY") return "sign";
  if (name === "ENCRYPT" || name === "DECRYPT") return "encrypt";
  if (name === "WRAP" || name === "UNWRAP") return "keymgmt";
  return "session";
}
