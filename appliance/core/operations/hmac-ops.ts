/** HMAC one-shot, streaming, and constant-time verify, keyed by a stored key id. */
import { HASH_LENGTH, KeyType, Usage } from "../../../protocol/messages.ts";
import { Status, VhsmError } from "../../../protocol/status.ts";
import { hashName, hmacOnce, hmacStream, safeEqual } from "../crypto/hash.ts";
import { checkKeyId } from "../ids.ts";
import type { Services } from "../services.ts";
import type { Session } from "../session.ts";
import type { LoadedKey } from "../vault.ts";
import type { Handler } from "./handler.ts";

/** Finds the user's key (cache first), checks its type and policy, and counts the use. */
export function macKey(session: Session, svc: Services, keyId: string): LoadedKey {
  const vault = session.requireVault();
  let key = vault.cached(keyId);
  if (!key) {
    const row = svc.keys.latest(vault.userId, checkKeyId(keyId));
    if (!row) throw new VhsmError(Status.KEY_NOT_FOUND, `no key ${keyId}`);
    key = vault.load(row);
  }
  if (key.type !== KeyType.HMAC) {
    throw new VhsmError(Status.UNSUPPORTED_MECHANISM, `key ${keyId} is not an HMAC key`);
  }
  if ((key.usage & Usage.MAC) === 0) {
    throw new VhsmError(Status.NOT_AUTHORISED, `key ${keyId} is not allowed for MAC operations`);
  }
  svc.usage.record(key.rowId);
  return key;
}

export const Hmac: Handler<"HMAC"> = (session, req, svc) => {
  hashName(req.alg);
  return { mac: hmacOnce(req.alg, macKey(session, svc, req.keyId).secret, req.data) };
};

export const HmacInit: Handler<"HMAC_INIT"> = (session, req, svc) => {
  hashName(req.alg);
  const key = macKey(session, svc, req.keyId);
  return {
    ctx: session.openContext({
      kind: "hmac",
      alg: req.alg,
      state: hmacStream(req.alg, key.secret),
      bytes: 0,
    }),
  };
};

export const HmacUpdate: Handler<"HMAC_UPDATE"> = (session, req) => {
  session.requireVault();
  const ctx = session.context(req.ctx, "hmac");
  ctx.state.update(req.data);
  ctx.bytes += req.data.length;
  return {};
};

export const HmacFinal: Handler<"HMAC_FINAL"> = (session, req) => {
  session.requireVault();
  const ctx = session.context(req.ctx, "hmac");
  session.closeContext(req.ctx);
  return { mac: ctx.state.digest() };
};

export const HmacVerify: Handler<"HMAC_VERIFY"> = (session, req, svc) => {
  hashName(req.alg);
  const key = macKey(session, svc, req.keyId);
  if (req.mac.length !== HASH_LENGTH[req.alg]) {
    throw new VhsmError(Status.BAD_ARGUMENTS, `an HMAC for this algorithm is ${HASH_LENGTH[req.alg]} bytes`);
  }
  const expected = hmacOnce(req.alg, key.secret, req.data);
  return { valid: safeEqual(expected, req.mac) ? 1 : 0 };
};
