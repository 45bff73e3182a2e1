/** Validation of the names and ids clients and operators choose. */
import { randomBytes } from "node:crypto";
import { Status, VhsmError } from "../../protocol/status.ts";

const KEY_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const NAME = /^[a-z0-9][a-z0-9_.-]{0,62}$/;
const USER = /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$/;

/** Whether `id` is a well-formed key id (checkKeyId without the error). */
export function isKeyId(id: string): boolean {
  return KEY_ID.test(id);
}

export function checkKeyId(id: string): string {
  if (!KEY_ID.test(id)) {
    throw new VhsmError(
      Status.BAD_ARGUMENTS,
      `invalid key id "${id.slice(0, 80)}": use 1-64 characters from A-Z a-z 0-9 . _ - starting with a letter or digit`,
    );
  }
  return id;
}

export function newKeyId(): string {
  return `k${randomBytes(10).toString("hex")}`;
}

export function checkContainerName(name: string): string {
  if (!NAME.test(name)) {
    throw new VhsmError(
      Status.BAD_ARGUMENTS,
      `invalid container name "${name.slice(0, 80)}": use 1-63 characters from a-z 0-9 _ . - starting with a letter or digit`,
    );
  }
  return name;
}

/** Whether `name` is one a user can have (what checkUserName accepts). */
export function validUserName(name: string): boolean {
  return USER.test(name);
}

export function checkUserName(name: string): string {
  if (!USER.test(name)) {
    throw new VhsmError(
      Status.BAD_ARGUMENTS,
      `invalid user name "${name.slice(0, 80)}": use 1-64 characters from A-Z a-z 0-9 _ . @ - starting with a letter or digit`,
    );
  }
  return name;
}

export const PIN_MIN = 4;
export const PIN_MAX = 64;

export function checkPin(pin: Uint8Array): Uint8Array {
  if (pin.length < PIN_MIN || pin.length > PIN_MAX) {
    throw new VhsmError(Status.PIN_POLICY, `a PIN must be ${PIN_MIN} to ${PIN_MAX} bytes long`);
  }
  return pin;
}
