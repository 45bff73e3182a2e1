/** The metrics as JSON (for the dashboard) and as Prometheus text (for scrapers). */
import { LATENCY_BUCKETS_US, type Metrics } from "../metrics.ts";

/** How many recent log entries a snapshot carries: enough to fill a tall events panel. */
const RECENT_EVENTS = 50;

export function statsSnapshot(m: Metrics, status: Record<string, unknown>) {
  const kinds = [...m.opsByKind.keys()].sort();
  return {
    time: Date.now(),
    status,
    ops: Object.fromEntries(m.opsByKind),
    bytes: Object.fromEntries(m.bytesByKind),
    latency: Object.fromEntries(
      kinds.map((k) => {
        const h = m.latencyByKind.get(k)!;
        return [k, { p50us: h.quantile(0.5), p99us: h.quantile(0.99), count: h.total }];
      }),
    ),
    errors: Object.fromEntries(m.errorsByStatus),
    containers: Object.fromEntries(m.byContainer),
    frameErrors: m.frameErrors,
    lockouts: m.lockouts,
    memory: {
      heldBytes: m.memory.used,
      budgetBytes: m.memory.limit,
      containerBudgetBytes: m.memory.containerLimit,
      byContainer: Object.fromEntries(m.memory.byContainer()),
      refusals: m.memoryRefusals,
    },
    connectionsTotal: m.connectionsTotal,
    events: m.recentLog.slice(-RECENT_EVENTS),
  };
}

const esc = (s: string) => s.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");

export function prometheusText(m: Metrics, status: Record<string, unknown>): string {
  const out: string[] = [];
  const metric = (name: string, type: string, help: string) =>
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);

  metric("vhsm_operations_total", "counter", "Operations answered, by kind.");
  for (const [k, v] of m.opsByKind) out.push(`vhsm_operations_total{kind="${esc(k)}"} ${v}`);
  metric("vhsm_operation_bytes_total", "counter", "Request body bytes processed, by kind.");
  for (const [k, v] of m.bytesByKind) out.push(`vhsm_operation_bytes_total{kind="${esc(k)}"} ${v}`);
  metric("vhsm_errors_total", "counter", "Error responses, by status code.");
  for (const [k, v] of m.errorsByStatus) out.push(`vhsm_errors_total{code="${esc(k)}"} ${v}`);
  metric("vhsm_container_operations_total", "counter", "Operations, by container.");
  for (const [k, v] of m.byContainer)
    out.push(`vhsm_container_operations_total{container="${esc(k)}"} ${v.ops}`);
  metric("vhsm_container_connections", "gauge", "Open connections, by container.");
  for (const [k, v] of m.byContainer)
    out.push(`vhsm_container_connections{container="${esc(k)}"} ${v.connections}`);
  metric("vhsm_operation_latency_seconds", "histogram", "Operation latency, by kind.");
  for (const [k, h] of m.latencyByKind) {
    let cumulative = 0;
    LATENCY_BUCKETS_US.forEach((le, i) => {
      cumulative += h.counts[i]!;
      const bound = le === Infinity ? "+Inf" : String(le / 1e6);
      out.push(`vhsm_operation_latency_seconds_bucket{kind="${esc(k)}",le="${bound}"} ${cumulative}`);
    });
    out.push(`vhsm_operation_latency_seconds_sum{kind="${esc(k)}"} ${h.sumUs / 1e6}`);
    out.push(`vhsm_operation_latency_seconds_count{kind="${esc(k)}"} ${h.total}`);
  }
  metric("vhsm_frame_errors_total", "counter", "Connections closed for malformed frames.");
  out.push(`vhsm_frame_errors_total ${m.frameErrors}`);
  metric("vhsm_lockouts_total", "counter", "Logins refused because the user is locked.");
  out.push(`vhsm_lockouts_total ${m.lockouts}`);
  metric("vhsm_client_memory_bytes", "gauge", "Bytes held for clients: requests and answers in flight.");
  out.push(`vhsm_client_memory_bytes ${m.memory.used}`);
  metric("vhsm_client_memory_budget_bytes", "gauge", "The budget for bytes held for clients.");
  out.push(`vhsm_client_memory_budget_bytes ${m.memory.limit}`);
  metric(
    "vhsm_container_memory_bytes",
    "gauge",
    "Bytes held for clients, by container (those holding some).",
  );
  for (const [k, v] of m.memory.byContainer())
    out.push(`vhsm_container_memory_bytes{container="${esc(k)}"} ${v}`);
  metric(
    "vhsm_container_memory_budget_bytes",
    "gauge",
    "The most one container's clients may hold together.",
  );
  out.push(`vhsm_container_memory_budget_bytes ${m.memory.containerLimit}`);
  metric("vhsm_memory_refusals_total", "counter", "Requests refused because the memory budget was spent.");
  out.push(`vhsm_memory_refusals_total ${m.memoryRefusals}`);
  metric("vhsm_worker_signatures_total", "counter", "Signatures made by signing worker threads.");
  out.push(`vhsm_worker_signatures_total ${m.workerSignatures}`);
  for (const key of ["containers", "users", "keys", "connections"] as const) {
    metric(`vhsm_${key}`, "gauge", `Current number of ${key}.`);
    out.push(`vhsm_${key} ${Number(status[key] ?? 0)}`);
  }
  return `${out.join("\n")}\n`;
}
