/** Streaming digest and HMAC contexts living in the appliance; the client holds only their handles. */
import { Status, VhsmError } from "../../protocol/status.ts";
import type { VhsmClient } from "./client.ts";

abstract class StreamBase {
  private finished = false;

  constructor(
    protected readonly client: VhsmClient,
    readonly ctx: number,
    protected readonly generation: number,
  ) {}

  protected check(): void {
    if (this.finished) throw new VhsmError(Status.NOT_INITIALISED, "this context is already finalised");
  }

  protected markFinished(): void {
    this.finished = true;
  }

  abstract update(data: Uint8Array): Promise<void>;

  /** Sends `data` in chunks of at most `chunk` bytes, pipelined. */
  async updateAll(data: Uint8Array, chunk: number): Promise<void> {
    const sends: Promise<void>[] = [];
    for (let off = 0; off < data.length; off += chunk)
      sends.push(this.update(data.subarray(off, off + chunk)));
    await Promise.all(sends);
  }
}

export class DigestStream extends StreamBase {
  async update(data: Uint8Array): Promise<void> {
    this.check();
    await this.client.call("DIGEST_UPDATE", { ctx: this.ctx, data }, this.generation);
  }

  async final(): Promise<Buffer> {
    this.check();
    this.markFinished();
    const r = await this.client.call("DIGEST_FINAL", { ctx: this.ctx }, this.generation);
    return Buffer.from(r.digest);
  }
}

export class HmacStream extends StreamBase {
  async update(data: Uint8Array): Promise<void> {
    this.check();
    await this.client.call("HMAC_UPDATE", { ctx: this.ctx, data }, this.generation);
  }

  async final(): Promise<Buffer> {
    this.check();
    this.markFinished();
    const r = await this.client.call("HMAC_FINAL", { ctx: this.ctx }, this.generation);
    return Buffer.from(r.mac);
  }
}
