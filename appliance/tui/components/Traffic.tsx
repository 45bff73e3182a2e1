/** Throughput chart (ops/s stacked by kind) over the last minutes, then rates and latency per kind. */
import { Box, Text } from "ink";
import { bucketise, runs, stackedChart } from "../chart.ts";
import * as f from "../format.ts";
import { useTheme } from "../theme.ts";
import { type DashboardView, totalRate } from "../view.ts";

/** How far back the chart reaches; each column covers window / columns seconds (at least one). */
const WINDOW_SECONDS = 180;
const AXIS = 7;

export function Traffic(props: { view: DashboardView; width: number; height: number; now: number }) {
  const t = useTheme();
  const { view, width, height } = props;
  const kinds = view.kinds;
  const latest = view.points.at(-1);
  const tableRows = 1 + Math.max(1, kinds.length);
  const chartHeight = Math.max(2, height - tableRows - 2);
  const columns = Math.max(10, width - AXIS);
  const perColumn = Math.max(1, Math.ceil(WINDOW_SECONDS / columns));
  const buckets = bucketise(view.points, kinds, columns, perColumn, props.now);
  const chart = stackedChart(buckets, chartHeight, t.fills);
  const title = `Throughput ops/s by kind, last ${f.duration(columns * perColumn)}`;
  const summary = `now ${f.count(totalRate(latest))}  peak ${f.count(view.peakTotal)}`;
  return (
    <Box flexDirection="column">
      <Text wrap="truncate">
        <Text bold>{title}</Text>
        {" ".repeat(Math.max(1, width - title.length - summary.length))}
        {summary}
      </Text>
      {chart.rows.map((row, y) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: rows are positions, not items
        <Text key={y} wrap="truncate">
          {y === 0 ? f.fit(f.count(chart.max), AXIS - 1, "right") : " ".repeat(AXIS - 1)}
          {y === 0 ? "┤" : "│"}
          {runs(row).map((run, i) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: runs are positions
            <Text key={i} color={run.kind >= 0 ? t.kind(run.kind) : undefined}>
              {run.text}
            </Text>
          ))}
        </Text>
      ))}
      <Text wrap="truncate">
        {`${f.fit("0", AXIS - 1, "right")}└${f.fit(`-${f.duration(columns * perColumn)}`, columns - 3)}now`}
      </Text>
      <Text bold wrap="truncate">
        {`  ${f.fit("kind", 9)}${f.fit("ops/s", 8, "right")}${f.fit("peak", 8, "right")}${f.fit("bytes/s", 12, "right")}${f.fit("p50", 8, "right")}${f.fit("p99", 8, "right")}${f.fit("total", 9, "right")}`}
      </Text>
      {kinds.length === 0 ? <Text dimColor={t.dim}> no operations yet</Text> : null}
      {kinds.map((k, i) => {
        const lat = view.stats?.latency[k];
        const b = latest?.bytes[k];
        return (
          <Text key={k} wrap="truncate">
            <Text color={t.kind(i)}>{t.fills[i] ?? "█"} </Text>
            {f.fit(k, 9)}
            {f.fit(f.count(latest?.ops[k] ?? 0), 8, "right")}
            {f.fit(f.count(view.peak[k] ?? 0), 8, "right")}
            {f.fit(b ? `${f.bytes(b)}/s` : "-", 12, "right")}
            {f.fit(lat ? f.micros(lat.p50us) : "-", 8, "right")}
            {f.fit(lat ? f.micros(lat.p99us) : "-", 8, "right")}
            {f.fit(f.count(view.stats?.ops[k] ?? 0), 9, "right")}
          </Text>
        );
      })}
    </Box>
  );
}
