/** SIGN, VERIFY and KEY_PUBLIC. Signatures say which key version made them. */
import { KeyFormat, Usage } from "../../../protocol/messages.ts";
import { Status, VhsmError } from "../../../protocol/status.ts";
import { SIGNING_KEY_TYPES, signData, signSpec, verifyData, workerScheme } from "../crypto/signatures.ts";
import { accessKey } from "../key-access.ts";
import type { Handler } from "./handler.ts";

export const Sign: Handler<"SIGN"> = (session, req, svc) => {
  const key = accessKey(session, svc, req.keyId, {
    usage: Usage.SIGN,
    types: SIGNING_KEY_TYPES,
    purpose: "signing",
  });
  const spec = signSpec(key.type, req.alg, req.flags, req.data.length);
  // under load a worker thread signs part of the requests (see sign-workers.ts)
  const scheme = svc.signWorkers ? workerScheme(spec, req.flags) : null;
  const worker = scheme ? svc.signWorkers!.pick() : -1;
  if (scheme && worker >= 0) {
    const version = key.version;
    return svc
      .signWorkers!.sign(worker, key.privateKey!, scheme[0], scheme[1], req.data)
      .then((signature) => ({ signature, version }));
  }
  return { signature: signData(key.privateKey!, spec, req.flags, req.data), version: key.version };
};

export const Verify: Handler<"VERIFY"> = (session, req, svc) => {
  const key = accessKey(session, svc, req.keyId, {
    usage: Usage.VERIFY,
    version: req.version,
    types: SIGNING_KEY_TYPES,
    purpose: "verification",
  });
  const spec = signSpec(key.type, req.alg, req.flags, req.data.length);
  return { valid: verifyData(key.publicKey!, spec, req.flags, req.data, req.signature) ? 1 : 0 };
};

/** The public half of an asymmetric key; needs a login but no usage bit (public keys are public). */
export const KeyPublic: Handler<"KEY_PUBLIC"> = (session, req, svc) => {
  const key = accessKey(session, svc, req.id, {
    usage: 0xffffffff,
    version: req.version,
    types: SIGNING_KEY_TYPES,
    purpose: "public key export",
  });
  const pub = key.publicKey!;
  switch (req.format) {
    case 0:
    case KeyFormat.PEM:
      return {
        data: Buffer.from(pub.export({ format: "pem", type: "spki" }) as string),
        version: key.version,
      };
    case KeyFormat.DER:
      return { data: pub.export({ format: "der", type: "spki" }) as Buffer, version: key.version };
    case KeyFormat.JWK: {
      const jwk = { ...pub.export({ format: "jwk" }), kid: `${req.id}#${key.version}` };
      return { data: Buffer.from(JSON.stringify(jwk)), version: key.version };
    }
    default:
      throw new VhsmError(Status.BAD_ARGUMENTS, "public keys export as PEM (2), DER (3) or JWK (4)");
  }
};
