/**
 * VhsmClient: the agent library. Holds key ids, never key material. Pipelines requests on one
 * connection; after an appliance restart it reconnects and logs in again by itself, retrying the
 * requests that are safe to repeat. Large inputs (64 KiB and up) are sent from the caller's buffer
 * without a copy: leave a buffer unchanged until the call that was given it has settled.
 */
import { decodeBody, encodeFrameParts } from "../../protocol/codec.ts";
import { DEFAULT_MAX_BODY, HEADER_SIZE } from "../../protocol/frame.ts";
import {
  ERROR_BODY,
  KeyFlag,
  MESSAGES,
  type MessageName,
  PROTOCOL_VERSION,
  type Request,
  type Response,
  SignFlag,
} from "../../protocol/messages.ts";
import { Status, VhsmError } from "../../protocol/status.ts";
import { Channel } from "./channel.ts";
import { KeyApi } from "./keys.ts";
import {
  cryptAlg,
  type HashAlgorithm,
  hashAlg,
  keyType,
  type SignAlgorithm,
  signAlg,
  type UsageName,
  usageBits,
} from "./names.ts";
import { DigestStream, HmacStream } from "./streams.ts";

export interface ConnectOptions {
  /** Path of the container's socket; default `$VHSM_SOCKET` or `/run/vhsm/vhsm.sock`. */
  socket?: string;
  /** User to log in as; omit to connect without logging in. */
  user?: string;
  /** The user's PIN. Kept (as bytes, zeroed on close) to log in again after a reconnect. */
  pin?: string | Uint8Array;
  /** How long to keep trying to reconnect after the connection is lost (ms). Default 30 s; 0 = never. */
  reconnectTimeoutMs?: number;
  /** Client name sent in HELLO (shows in the appliance's logs). */
  clientName?: string;
}

/** Requests that may be sent again after a reconnect without changing the outcome. */
const RETRY_SAFE = new Set<MessageName>([
  "PING",
  "KEY_LIST",
  "KEY_COUNT",
  "KEY_INFO",
  "DIGEST",
  "HMAC",
  "HMAC_VERIFY",
  "RANDOM",
  "KEY_PUBLIC",
  "SIGN",
  "VERIFY",
  "ENCRYPT",
  "DECRYPT",
]);

const MAX_RETRIES = 3;

export class VhsmClient {
  readonly keys: KeyApi;
  /** Increments on every new connection; streaming contexts belong to one generation. */
  generation = 0;
  container = "";
  server = "";
  maxFrame = DEFAULT_MAX_BODY;
  private channel: Channel | null = null;
  private ready: Promise<Channel> | null = null;
  private closed = false;
  private pin: Buffer | null;

  private constructor(
    private readonly socketPath: string,
    private user: string | undefined,
    pin: string | Uint8Array | undefined,
    private readonly reconnectTimeoutMs: number,
    private readonly clientName: string,
  ) {
    this.pin =
      pin === undefined ? null : Buffer.from(typeof pin === "string" ? Buffer.from(pin, "utf8") : pin);
    this.keys = new KeyApi(this);
  }

  static async connect(options: ConnectOptions = {}): Promise<VhsmClient> {
    const client = new VhsmClient(
      options.socket ?? process.env.VHSM_SOCKET ?? "/run/vhsm/vhsm.sock",
      options.user,
      options.pin,
      options.reconnectTimeoutMs ?? 30_000,
      options.clientName ?? `vhsm-agent-ts/${process.pid}`,
    );
    if (options.user !== undefined && options.pin === undefined) {
      throw new VhsmError(Status.BAD_ARGUMENTS, "a PIN is required to log in");
    }
    client.ready = client.establishFirst();
    try {
      await client.ready;
    } catch (err) {
      client.close();
      throw err;
    }
    return client;
  }

  /**
   * The first connection. A listen queue overflowing in a connect storm answers ECONNREFUSED or
   * EAGAIN: when reconnecting is allowed, such failures are retried briefly (at most 2 s).
   */
  private async establishFirst(): Promise<Channel> {
    const deadline = Date.now() + Math.min(this.reconnectTimeoutMs, 2000);
    for (let delay = 10; ; delay = Math.min(delay * 2, 200)) {
      try {
        return await this.establish();
      } catch (err) {
        const e = err as VhsmError;
        const busy = e.status === Status.CONNECTION_FAILED && /ECONNREFUSED|EAGAIN/.test(e.message);
        if (!busy || Date.now() + delay > deadline) throw err;
      }
      await new Promise((r) => setTimeout(r, delay));
    }
  }

  /** Opens a connection, says HELLO and logs in (if a user was given). */
  private async establish(): Promise<Channel> {
    const channel = await Channel.open(this.socketPath, DEFAULT_MAX_BODY + HEADER_SIZE);
    try {
      const hello = await this.exchange(channel, "HELLO", {
        minVersion: PROTOCOL_VERSION,
        maxVersion: PROTOCOL_VERSION,
        client: this.clientName,
      });
      this.container = hello.container;
      this.server = hello.server;
      this.maxFrame = hello.maxFrame;
      if (this.user !== undefined && this.pin) {
        await this.exchange(channel, "LOGIN", { user: this.user, pin: this.pin });
      }
    } catch (err) {
      channel.close();
      throw err;
    }
    if (this.closed) {
      channel.close();
      throw new VhsmError(Status.CLIENT_CLOSED);
    }
    this.channel = channel;
    this.generation++;
    channel.onClose = (reason) => this.lost(channel, reason);
    return channel;
  }

  private lost(channel: Channel, reason: VhsmError): void {
    if (this.channel !== channel) return;
    this.channel = null;
    if (this.closed || this.reconnectTimeoutMs <= 0 || reason.status === Status.CLIENT_CLOSED) {
      this.ready = Promise.reject(reason);
      this.ready.catch(() => {});
      return;
    }
    this.ready = this.reconnect(reason);
    this.ready.catch(() => {});
  }

  /** Retries with backoff until the timeout; credentials errors end the attempts at once. */
  private async reconnect(reason: VhsmError): Promise<Channel> {
    const deadline = Date.now() + this.reconnectTimeoutMs;
    let delay = 20;
    let last: unknown = reason;
    while (!this.closed && Date.now() < deadline) {
      try {
        return await this.establish();
      } catch (err) {
        last = err;
        const status = (err as VhsmError).status;
        if (status === Status.BAD_CREDENTIALS || status === Status.PIN_LOCKED) throw err;
      }
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 500);
    }
    throw new VhsmError(
      Status.CONNECTION_LOST,
      `the connection was lost and could not be re-established: ${(last as Error).message}`,
    );
  }

  private async exchange<N extends MessageName>(
    channel: Channel,
    name: N,
    req: Request<N>,
  ): Promise<Response<N>> {
    const spec = MESSAGES[name];
    const id = channel.allocateId();
    const frame = await channel.send(id, encodeFrameParts(spec.opcode, 0, Status.OK, id, spec.request, req));
    if (frame.status !== Status.OK) {
      let message = "";
      try {
        message = decodeBody(ERROR_BODY, frame.body).message;
      } catch {}
      throw new VhsmError(frame.status, message);
    }
    return decodeBody(spec.response, frame.body) as Response<N>;
  }

  /** Sends one request; retries after a reconnect when the request is safe to repeat. */
  async call<N extends MessageName>(name: N, req: Request<N>, generation?: number): Promise<Response<N>> {
    for (let attempt = 0; ; attempt++) {
      if (this.closed) throw new VhsmError(Status.CLIENT_CLOSED);
      const channel = this.channel ?? (await this.ready!);
      if (generation !== undefined && generation !== this.generation) {
        throw new VhsmError(
          Status.CONTEXT_LOST,
          "the streaming context was lost when the connection was re-established",
        );
      }
      try {
        return await this.exchange(channel, name, req);
      } catch (err) {
        const e = err as VhsmError;
        const connectionGone = e.status === Status.CONNECTION_LOST && !this.closed;
        if (!connectionGone) throw err;
        if (generation !== undefined) {
          throw new VhsmError(Status.CONTEXT_LOST, "the streaming context was lost with the connection");
        }
        if (!RETRY_SAFE.has(name) || attempt >= MAX_RETRIES) {
          throw new VhsmError(
            Status.CONNECTION_LOST,
            `${name} was interrupted by a lost connection and not retried`,
          );
        }
      }
    }
  }

  /** Largest payload that fits in one frame next to the other fields. */
  private get chunkLimit(): number {
    return Math.max(1024, this.maxFrame - 1024);
  }

  async ping(): Promise<void> {
    await this.call("PING", {});
  }

  async logout(): Promise<void> {
    await this.call("LOGOUT", {});
    this.user = undefined;
  }

  async changePin(oldPin: string | Uint8Array, newPin: string | Uint8Array): Promise<void> {
    const bytes = (p: string | Uint8Array) => (typeof p === "string" ? Buffer.from(p, "utf8") : p);
    const newBytes = bytes(newPin);
    await this.call("PIN_CHANGE", { oldPin: bytes(oldPin), newPin: newBytes });
    // later reconnects must log in with the new PIN
    this.pin?.fill(0);
    this.pin = Buffer.from(newBytes);
  }

  async digest(alg: HashAlgorithm, data: Uint8Array): Promise<Buffer> {
    if (data.length > this.chunkLimit) {
      const stream = await this.digestInit(alg);
      return stream.updateAll(data, this.chunkLimit).then(() => stream.final());
    }
    const r = await this.call("DIGEST", { alg: hashAlg(alg), data });
    return Buffer.from(r.digest);
  }

  async digestInit(alg: HashAlgorithm): Promise<DigestStream> {
    const r = await this.call("DIGEST_INIT", { alg: hashAlg(alg) });
    return new DigestStream(this, r.ctx, this.generation);
  }

  async hmac(keyId: string, alg: HashAlgorithm, data: Uint8Array): Promise<Buffer> {
    if (data.length > this.chunkLimit) {
      const stream = await this.hmacInit(keyId, alg);
      return stream.updateAll(data, this.chunkLimit).then(() => stream.final());
    }
    const r = await this.call("HMAC", { keyId, alg: hashAlg(alg), data });
    return Buffer.from(r.mac);
  }

  async hmacInit(keyId: string, alg: HashAlgorithm): Promise<HmacStream> {
    const r = await this.call("HMAC_INIT", { keyId, alg: hashAlg(alg) });
    return new HmacStream(this, r.ctx, this.generation);
  }

  /** Constant-time check inside the appliance; resolves to true when `mac` is right. */
  async hmacVerify(keyId: string, alg: HashAlgorithm, data: Uint8Array, mac: Uint8Array): Promise<boolean> {
    const r = await this.call("HMAC_VERIFY", { keyId, alg: hashAlg(alg), data, mac });
    return r.valid === 1;
  }

  async random(length: number): Promise<Buffer> {
    const r = await this.call("RANDOM", { length });
    return Buffer.from(r.bytes);
  }

  /**
   * Signs `data` (a message, or a digest with `prehashed`). Ed25519 is pure; ECDSA gives DER unless
   * `rawEcdsa` (r||s). Returns the signature and the key version that made it.
   */
  async sign(
    keyId: string,
    data: Uint8Array,
    options: SignOptions = {},
  ): Promise<{ signature: Buffer; version: number }> {
    const r = await this.call("SIGN", { keyId, alg: signAlg(options.alg), flags: signFlags(options), data });
    return { signature: Buffer.from(r.signature), version: r.version };
  }

  /** Verifies inside the appliance; `version` 0 (default) checks against the newest version. */
  async verify(
    keyId: string,
    data: Uint8Array,
    signature: Uint8Array,
    options: SignOptions & { version?: number } = {},
  ): Promise<boolean> {
    const r = await this.call("VERIFY", {
      keyId,
      version: options.version ?? 0,
      alg: signAlg(options.alg),
      flags: signFlags(options),
      data,
      signature,
    });
    return r.valid === 1;
  }

  /** AES-256-GCM (nonce made by the appliance, `aad` authenticated) or RSA-OAEP-SHA256. */
  async encrypt(
    keyId: string,
    plaintext: Uint8Array,
    options: { aad?: Uint8Array; alg?: string } = {},
  ): Promise<{ ciphertext: Buffer; version: number }> {
    const r = await this.call("ENCRYPT", {
      keyId,
      alg: cryptAlg(options.alg),
      aad: options.aad ?? new Uint8Array(0),
      plaintext,
    });
    return { ciphertext: Buffer.from(r.ciphertext), version: r.version };
  }

  /** Decrypts with the key version named in the ciphertext; DECRYPT_FAILED when anything was altered. */
  async decrypt(
    keyId: string,
    ciphertext: Uint8Array,
    options: { aad?: Uint8Array; alg?: string } = {},
  ): Promise<Buffer> {
    const r = await this.call("DECRYPT", {
      keyId,
      alg: cryptAlg(options.alg),
      aad: options.aad ?? new Uint8Array(0),
      ciphertext,
    });
    return Buffer.from(r.plaintext);
  }

  /** Exports an exportable key wrapped (AES-KWP, RFC 5649) under an AES-256 wrapping key. */
  async wrap(keyId: string, wrappingKeyId: string): Promise<{ wrapped: Buffer; type: number; bits: number }> {
    const r = await this.call("WRAP", { keyId, wrappingKeyId, alg: 0 });
    return { wrapped: Buffer.from(r.wrapped), type: r.type, bits: r.bits };
  }

  /** Imports a wrapped key as a new key of `type`. */
  async unwrap(
    wrappingKeyId: string,
    wrapped: Uint8Array,
    options: { type: string; id?: string; usage?: UsageName[]; exportable?: boolean },
  ): Promise<string> {
    const r = await this.call("UNWRAP", {
      wrappingKeyId,
      alg: 0,
      wrapped,
      id: options.id ?? "",
      type: keyType(options.type).type,
      usage: usageBits(options.usage ?? []),
      flags: options.exportable ? KeyFlag.EXPORTABLE : 0,
    });
    return r.id;
  }

  /** Closes the connection and zeroes the kept PIN. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.pin?.fill(0);
    this.channel?.close();
    this.channel = null;
  }
}

export interface SignOptions {
  alg?: SignAlgorithm;
  /** `data` is already a digest of the algorithm's hash. */
  prehashed?: boolean;
  /** ECDSA signatures as raw r||s (JOSE, WebAuthn) instead of DER. */
  rawEcdsa?: boolean;
}

function signFlags(o: SignOptions): number {
  return (o.prehashed ? SignFlag.PREHASHED : 0) | (o.rawEcdsa ? SignFlag.RAW_ECDSA : 0);
}
