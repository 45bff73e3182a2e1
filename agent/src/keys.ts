/** client.keys: generate, import, delete, list, count, info. */
import type { VhsmClient } from "./client.ts";
import { keyType, keyTypeName, usageNames } from "./names.ts";

export interface KeyInfo {
  id: string;
  type: string;
  bits: number;
  version: number;
  usage: string[];
  created: Date;
  lastUsed: Date | null;
  useCount: number;
}

export class KeyApi {
  constructor(private readonly client: VhsmClient) {}

  /** Generates a key inside the appliance; returns its id (generated when `id` is omitted). */
  async generate(options: { type?: string; bits?: number; id?: string } = {}): Promise<string> {
    const r = await this.client.call("KEY_GENERATE", {
      id: options.id ?? "",
      type: keyType(options.type ?? "hmac"),
      bits: options.bits ?? 0,
    });
    return r.id;
  }

  /** Imports a raw secret; the appliance encrypts and stores it. */
  async import(secret: Uint8Array, options: { type?: string; id?: string } = {}): Promise<string> {
    const r = await this.client.call("KEY_IMPORT", {
      id: options.id ?? "",
      type: keyType(options.type ?? "hmac"),
      secret,
    });
    return r.id;
  }

  async delete(id: string): Promise<void> {
    await this.client.call("KEY_DELETE", { id });
  }

  /** All key ids, in order (fetched page by page). */
  async list(): Promise<string[]> {
    const ids: string[] = [];
    let after = "";
    for (;;) {
      const page = await this.client.call("KEY_LIST", { after, limit: 0 });
      ids.push(...page.ids);
      if (!page.more || page.ids.length === 0) return ids;
      after = page.ids[page.ids.length - 1]!;
    }
  }

  async count(): Promise<number> {
    return (await this.client.call("KEY_COUNT", {})).count;
  }

  async info(id: string): Promise<KeyInfo> {
    const r = await this.client.call("KEY_INFO", { id });
    return {
      id: r.id,
      type: keyTypeName(r.type),
      bits: r.bits,
      version: r.version,
      usage: usageNames(r.usage),
      created: new Date(r.created),
      lastUsed: r.lastUsed ? new Date(r.lastUsed) : null,
      useCount: r.useCount,
    };
  }
}
