/**
 * HTTP to a container runtime's API over its Unix socket. The base URL and fetch are injectable: the
 * host part is ignored by the socket, and tests point msw at `http://docker/...` URLs.
 */
import { socketFailure } from "../admin-client.ts";
import { ProvisionError } from "../errors.ts";

export type FetchFn = (url: string, init: RequestInit) => Promise<Response>;

export interface RuntimeTransport {
  socket: string;
  baseUrl: string;
  fetch?: FetchFn;
}

export interface RuntimeResponse {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: a runtime's JSON, read defensively field by field
  json: any;
}

export class RuntimeHttp {
  constructor(
    readonly label: string,
    readonly transport: RuntimeTransport,
  ) {}

  async request(method: string, path: string, body?: unknown): Promise<RuntimeResponse> {
    const doFetch: FetchFn = this.transport.fetch ?? ((url, init) => fetch(url, init));
    let res: Response;
    try {
      res = await doFetch(`${this.transport.baseUrl}${path}`, {
        method,
        unix: this.transport.socket,
        headers: body === undefined ? {} : { "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      } as RequestInit);
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      const denied = code === "EACCES" || code === "EPERM";
      throw new ProvisionError(
        denied ? "RUNTIME_PERMISSION_DENIED" : "RUNTIME_UNAVAILABLE",
        `cannot reach ${this.label} at ${this.transport.socket}: ${code ? socketFailure(code) : (err as Error).message}`,
      );
    }
    const text = await res.text();
    let json: RuntimeResponse["json"] = null;
    if (text) {
      try {
        json = JSON.parse(text);
      } catch {
        json = { message: text.trim() };
      }
    }
    return { status: res.status, json };
  }

  /** Turns a non-2xx answer into an error that carries the runtime's own message. */
  fail(what: string, r: RuntimeResponse): never {
    const msg = r.json?.message ?? r.json?.error ?? `HTTP ${r.status}`;
    const code =
      r.status === 404
        ? "RUNTIME_CONTAINER_NOT_FOUND"
        : r.status === 401 || r.status === 403
          ? "RUNTIME_PERMISSION_DENIED"
          : "RUNTIME_ERROR";
    throw new ProvisionError(code, `${this.label}: ${what}: ${msg}`);
  }
}
