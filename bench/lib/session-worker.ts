/**
 * One client process of the sessions bench: holds many logged-in connections and sends one request
 * per connection every `intervalMs` (open loop: a slow answer does not delay the next request, so
 * queueing shows up in the latencies instead of hiding). Talks to the parent in JSON lines: the
 * config (with PINs, hence stdin and not argv) arrives on stdin, then "go" and "close"; "ready" and
 * "result" go to stdout.
 */
import { VhsmClient, VhsmError } from "../../agent/index.ts";
import { Samples } from "./latency.ts";

export interface SessionTarget {
  socket: string;
  user: string;
  pin: string;
  hmacKey: string;
  signKey: string;
}

export interface WorkerConfig {
  targets: SessionTarget[];
  /** Global index of this worker's first connection; connection i uses target i % targets.length. */
  firstIndex: number;
  connections: number;
  /** Connection attempts outstanding at once (a pool starting up, not one connect per socket at a time). */
  connectConcurrency: number;
  intervalMs: number;
  /** Load before the first window counts (the appliance's code is cold); later rounds start at once. */
  warmMs: number;
  windowMs: number;
}

export interface WorkerReady {
  type: "ready";
  connected: number;
  failed: number;
  errors: Record<string, number>;
  setupMs: number;
}

export interface WorkerResult {
  type: "result";
  /** Latencies (ms) of requests sent inside the window. */
  sign: number[];
  hmac: number[];
  errors: Record<string, number>;
  /** Requests sent in the window that had not been answered when it closed (plus 5 s). */
  unanswered: number;
}

const MESSAGE = Buffer.alloc(32, 1);
const send = (msg: WorkerReady | WorkerResult) => process.stdout.write(`${JSON.stringify(msg)}\n`);
const reason = (err: unknown) =>
  err instanceof VhsmError ? err.code : String((err as Error)?.message ?? err);

async function connectAll(
  cfg: WorkerConfig,
): Promise<{ clients: (VhsmClient | null)[]; ready: WorkerReady }> {
  const started = performance.now();
  const clients: (VhsmClient | null)[] = new Array(cfg.connections).fill(null);
  const errors: Record<string, number> = {};
  let next = 0;
  const lane = async () => {
    while (next < cfg.connections) {
      const i = next++;
      const t = cfg.targets[(cfg.firstIndex + i) % cfg.targets.length]!;
      try {
        clients[i] = await VhsmClient.connect({
          socket: t.socket,
          user: t.user,
          pin: t.pin,
          reconnectTimeoutMs: 0,
        });
      } catch (err) {
        const r = reason(err);
        errors[r] = (errors[r] ?? 0) + 1;
      }
    }
  };
  await Promise.all(Array.from({ length: cfg.connectConcurrency }, lane));
  const connected = clients.filter(Boolean).length;
  return {
    clients,
    ready: {
      type: "ready",
      connected,
      failed: cfg.connections - connected,
      errors,
      setupMs: performance.now() - started,
    },
  };
}

function runLoad(cfg: WorkerConfig, clients: (VhsmClient | null)[], warmMs: number): Promise<WorkerResult> {
  const sign = new Samples();
  const hmac = new Samples();
  const errors: Record<string, number> = {};
  const start = performance.now();
  const from = start + warmMs;
  const until = from + cfg.windowMs;
  const timers: ReturnType<typeof setInterval>[] = [];
  let pending = 0;
  let sending = true;
  clients.forEach((c, i) => {
    if (!c) return;
    const t = cfg.targets[(cfg.firstIndex + i) % cfg.targets.length]!;
    const signs = (cfg.firstIndex + i) % 2 === 0;
    const fire = () => {
      if (!sending) return;
      const sent = performance.now();
      const counted = sent >= from && sent < until;
      if (counted) pending++;
      const op = signs ? c.sign(t.signKey, MESSAGE) : c.hmac(t.hmacKey, "sha256", MESSAGE);
      op.then(
        () => {
          if (!counted) return;
          pending--;
          (signs ? sign : hmac).push(performance.now() - sent);
        },
        (err) => {
          if (!counted) return;
          pending--;
          const r = reason(err);
          errors[r] = (errors[r] ?? 0) + 1;
        },
      );
    };
    // spread the connections evenly over the interval so the load is steady, not bursts
    const phase = Math.random() * cfg.intervalMs;
    setTimeout(() => {
      fire();
      timers.push(setInterval(fire, cfg.intervalMs));
    }, phase);
  });
  return new Promise((resolve) => {
    setTimeout(async () => {
      sending = false;
      for (const t of timers) clearInterval(t);
      const deadline = performance.now() + 5000;
      while (pending > 0 && performance.now() < deadline) await Bun.sleep(10);
      resolve({
        type: "result",
        sign: Array.from(sign.values(), (v) => Math.round(v * 1000) / 1000),
        hmac: Array.from(hmac.values(), (v) => Math.round(v * 1000) / 1000),
        errors,
        unanswered: pending,
      });
    }, until - start);
  });
}

async function* lines(): AsyncGenerator<string> {
  let buffered = "";
  for await (const chunk of Bun.stdin.stream()) {
    buffered += new TextDecoder().decode(chunk);
    let nl = buffered.indexOf("\n");
    while (nl >= 0) {
      yield buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      nl = buffered.indexOf("\n");
    }
  }
}

const input = lines();
const cfg = JSON.parse((await input.next()).value as string) as WorkerConfig;
const { clients, ready } = await connectAll(cfg);
send(ready);
let round = 0;
for await (const line of input) {
  // each round restarts the timers with a short ramp so the window sees the steady rate
  if (line === "go") send(await runLoad(cfg, clients, round++ === 0 ? cfg.warmMs : cfg.intervalMs + 200));
  if (line === "close") break;
}
for (const c of clients) c?.close();
process.exit(0);
