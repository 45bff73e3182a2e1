/** Lockouts, frame errors, memory held for clients, error responses by status code (with what the code means), recent log lines. */
import { Box, Text } from "ink";
import { STATUS_EXPLANATION, type StatusName } from "../../../protocol/status.ts";
import * as f from "../format.ts";
import { useTheme } from "../theme.ts";
import type { EventEntry, StatsSnapshot } from "../types.ts";

function fields(e: EventEntry): string {
  return e.fields && Object.keys(e.fields).length ? ` ${JSON.stringify(e.fields)}` : "";
}

export function Events(props: {
  stats: StatsSnapshot | null;
  width: number;
  height: number;
  scroll: number;
}) {
  const t = useTheme();
  const s = props.stats;
  const errors = Object.entries(s?.errors ?? {}).sort((a, b) => b[1] - a[1]);
  // at most half the panel for the error table; the rest for log lines
  const fixed = s?.memory ? 4 : 3; // the title lines
  const errorLines = Math.min(errors.length, Math.max(1, Math.floor((props.height - fixed) / 2)));
  const logLines = Math.max(0, props.height - fixed - Math.max(1, errorLines));
  const events = s?.events ?? [];
  const end = Math.max(0, events.length - props.scroll);
  const first = Math.max(0, end - logLines);
  // a position in the stream is a stable enough key: entries only ever append
  const shownEvents = events
    .slice(first, end)
    .map((entry, n) => ({ entry, key: `${entry.time}:${first + n}` }));
  const explanationWidth = Math.max(10, props.width - 30);
  return (
    <Box flexDirection="column">
      <Text wrap="truncate">
        <Text bold>Events</Text>
        {"  lockouts "}
        <Text color={s?.lockouts ? t.warn : undefined}>{f.count(s?.lockouts ?? 0)}</Text>
        {"  frame errors "}
        <Text color={s?.frameErrors ? t.warn : undefined}>{f.count(s?.frameErrors ?? 0)}</Text>
        {`  connections since start ${f.count(s?.connectionsTotal ?? 0)}`}
      </Text>
      {s?.memory ? (
        <Text wrap="truncate">
          {"Client memory "}
          <Text color={s.memory.heldBytes > 0.8 * s.memory.budgetBytes ? t.warn : undefined}>
            {`${f.bytes(s.memory.heldBytes)} of ${f.bytes(s.memory.budgetBytes)}`}
          </Text>
          {"  refused "}
          <Text color={s.memory.refusals ? t.warn : undefined}>{f.count(s.memory.refusals)}</Text>
          <TopHolder memory={s.memory} />
        </Text>
      ) : null}
      <Text bold wrap="truncate">
        Errors by status code
      </Text>
      {errors.length === 0 ? <Text> none</Text> : null}
      {errors.slice(0, errorLines).map(([code, n]) => (
        <Text key={code} wrap="truncate">
          <Text color={t.bad}>{f.fit(code, 22)}</Text>
          {f.fit(f.count(n), 6, "right")}
          {"  "}
          {f.fit(STATUS_EXPLANATION[code as StatusName] ?? "unknown status code", explanationWidth)}
        </Text>
      ))}
      <Text bold wrap="truncate">
        Recent log{props.scroll ? ` (scrolled back ${props.scroll})` : ""}
      </Text>
      {shownEvents.map(({ entry: e, key }) => (
        <Text
          key={key}
          wrap="truncate"
          color={e.level === "error" ? t.bad : e.level === "warn" ? t.warn : undefined}
        >
          {`${f.clock(e.time)} ${e.level.padEnd(5)} ${e.message}${fields(e)}`}
        </Text>
      ))}
    </Box>
  );
}

/** The container holding most of the memory, against its share (when the appliance tells). */
function TopHolder(props: { memory: NonNullable<StatsSnapshot["memory"]> }) {
  const t = useTheme();
  const { byContainer, containerBudgetBytes } = props.memory;
  const top = Object.entries(byContainer ?? {}).sort((a, b) => b[1] - a[1])[0];
  if (!top || !containerBudgetBytes) return null;
  return (
    <>
      {"  top "}
      <Text color={top[1] > 0.8 * containerBudgetBytes ? t.warn : undefined}>
        {`${top[0]} ${f.bytes(top[1])} of ${f.bytes(containerBudgetBytes)}`}
      </Text>
    </>
  );
}
