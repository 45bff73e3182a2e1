/** HMAC one-shot, streaming, and constant-time verify, keyed by a stored key id. */
import { HASH_LENGTH, KeyType, Usage } from "../../../protocol/messages.ts";
import { Status, VhsmError } from "../../../protocol/status.ts";
import { feed, hashName, hmacOnce, hmacStream, safeEqual } from "../crypto/hash.ts";
import { accessKey, checkedKey } from "../key-access.ts";
import type { Services } from "../services.ts";
import type { Session } from "../session.ts";
import type { Handler, SplitHandler } from "./handler.ts";

const MAC_KEY = { usage: Usage.MAC, types: [KeyType.HMAC], purpose: "HMAC" } as const;

function macKey(session: Session, svc: Services, keyId: string, alg: number) {
  hashName(alg);
  return accessKey(session, svc, keyId, MAC_KEY);
}

export const Hmac: SplitHandler<"HMAC"> = (session, req, svc) => {
  const secret = macKey(session, svc, req.keyId, req.alg).secret!;
  if (svc.hashWorkers?.wants(req.data.length)) {
    return svc.hashWorkers.hmac(hashName(req.alg), secret, req.data).then((mac) => ({ mac }));
  }
  return { mac: hmacOnce(req.alg, secret, req.data) };
};

export const HmacInit: Handler<"HMAC_INIT"> = (session, req, svc) => {
  const key = macKey(session, svc, req.keyId, req.alg);
  const state = hmacStream(req.alg, key.secret!);
  const ctx = {
    kind: "hmac",
    alg: req.alg,
    state,
    bytes: 0,
    key: { id: req.keyId, version: key.version },
  } as const;
  return { ctx: session.openContext(ctx) };
};

/** The context's key must still exist and allow HMAC: deleting it or retiring its version ends the context. */
function liveContext(session: Session, svc: Services, id: number) {
  session.requireVault();
  const ctx = session.context(id, "hmac");
  if (ctx.key) {
    try {
      checkedKey(session, svc, ctx.key.id, { ...MAC_KEY, version: ctx.key.version });
    } catch (err) {
      session.closeContext(id);
      throw err;
    }
  }
  return ctx;
}

export const HmacUpdate: SplitHandler<"HMAC_UPDATE"> = (session, req, svc) => {
  const ctx = liveContext(session, svc, req.ctx);
  feed(ctx.state, req.data);
  ctx.bytes += req.data.length;
  return {};
};

export const HmacFinal: Handler<"HMAC_FINAL"> = (session, req, svc) => {
  const ctx = liveContext(session, svc, req.ctx);
  session.closeContext(req.ctx);
  return { mac: ctx.state.digest() };
};

export const HmacVerify: Handler<"HMAC_VERIFY"> = (session, req, svc) => {
  const secret = macKey(session, svc, req.keyId, req.alg).secret!;
  if (req.mac.length !== HASH_LENGTH[req.alg]) {
    throw new VhsmError(Status.BAD_ARGUMENTS, `an HMAC for this algorithm is ${HASH_LENGTH[req.alg]} bytes`);
  }
  if (svc.hashWorkers?.wants(req.data.length)) {
    const mac = Buffer.from(req.mac); // the request's views do not outlive the handler's return
    return svc.hashWorkers
      .hmac(hashName(req.alg), secret, req.data)
      .then((expected) => ({ valid: safeEqual(expected, mac) ? 1 : 0 }));
  }
  return { valid: safeEqual(hmacOnce(req.alg, secret, req.data), req.mac) ? 1 : 0 };
};
