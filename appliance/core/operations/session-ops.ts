/** HELLO, LOGIN, LOGOUT, PIN_CHANGE, PING. */
import { PROTOCOL_VERSION } from "../../../protocol/messages.ts";
import { Status, VhsmError } from "../../../protocol/status.ts";
import type { Handler } from "./handler.ts";

export const Hello: Handler<"HELLO"> = (session, req, svc) => {
  if (req.minVersion > PROTOCOL_VERSION || req.maxVersion < PROTOCOL_VERSION) {
    throw new VhsmError(
      Status.UNSUPPORTED_VERSION,
      `client speaks versions ${req.minVersion}-${req.maxVersion}; the appliance speaks ${PROTOCOL_VERSION}`,
    );
  }
  session.helloDone = true;
  return {
    version: PROTOCOL_VERSION,
    server: `vhsm-appliance/${svc.version}`,
    container: session.container.name,
    maxFrame: svc.config.maxFrameBody,
  };
};

export const Login: Handler<"LOGIN"> = async (session, req, svc) => {
  if (session.vault) throw new VhsmError(Status.ALREADY_LOGGED_IN, "this connection is already logged in");
  // the pin is a view into the network buffer: copy it, and zero the copy when done
  const pin = Buffer.from(req.pin);
  try {
    session.vault = await svc.accounts.login(session.container, req.user, pin);
  } finally {
    pin.fill(0);
  }
  return {};
};

export const Logout: Handler<"LOGOUT"> = (session, _req, svc) => {
  const vault = session.requireVault();
  session.clearContexts();
  session.vault = null;
  svc.accounts.release(vault);
  return {};
};

export const PinChange: Handler<"PIN_CHANGE"> = async (session, req, svc) => {
  const vault = session.requireVault();
  const oldPin = Buffer.from(req.oldPin);
  const newPin = Buffer.from(req.newPin);
  try {
    await svc.accounts.changePin(vault, oldPin, newPin);
  } finally {
    oldPin.fill(0);
    newPin.fill(0);
  }
  return {};
};

export const Ping: Handler<"PING"> = () => ({});
