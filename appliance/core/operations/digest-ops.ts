/** DIGEST one-shot and DIGEST_INIT / UPDATE / FINAL. Digests need no key, but a login. */
import { digestOnce, digestStream, feed, hashName } from "../crypto/hash.ts";
import type { Handler, SplitHandler } from "./handler.ts";

export const Digest: SplitHandler<"DIGEST"> = (session, req, svc) => {
  session.requireVault();
  if (svc.hashWorkers?.wants(req.data.length)) {
    return svc.hashWorkers.digest(hashName(req.alg), req.data).then((digest) => ({ digest }));
  }
  return { digest: digestOnce(req.alg, req.data) };
};

export const DigestInit: Handler<"DIGEST_INIT"> = (session, req) => {
  session.requireVault();
  const state = digestStream(req.alg);
  return { ctx: session.openContext({ kind: "digest", alg: req.alg, state, bytes: 0 }) };
};

export const DigestUpdate: SplitHandler<"DIGEST_UPDATE"> = (session, req) => {
  session.requireVault();
  const ctx = session.context(req.ctx, "digest");
  feed(ctx.state, req.data);
  ctx.bytes += req.data.length;
  return {};
};

export const DigestFinal: Handler<"DIGEST_FINAL"> = (session, req) => {
  session.requireVault();
  const ctx = session.context(req.ctx, "digest");
  session.closeContext(req.ctx);
  return { digest: ctx.state.digest() };
};
