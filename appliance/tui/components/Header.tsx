/** Two lines: what is running where, how big it is, and whether its self-tests passed. */
import { Box, Text } from "ink";
import * as f from "../format.ts";
import { useTheme } from "../theme.ts";
import type { StatsSnapshot } from "../types.ts";

export function Header(props: {
  stats: StatsSnapshot | null;
  source: string;
  paused: boolean;
  width: number;
}) {
  const t = useTheme();
  const s = props.stats?.status;
  if (!s) {
    return (
      <Box flexDirection="column" height={2}>
        <Text bold>vhsm appliance</Text>
        <Text wrap="truncate">waiting for the first snapshot from {props.source}…</Text>
      </Box>
    );
  }
  const left = `vhsm ${s.version}  up ${f.duration(s.uptimeSeconds)}  db ${f.bytes(s.dbSize)}  data `;
  const selfTestOk = s.selfTest === "passed";
  const tail = `  self-test ${s.selfTest}`;
  const dataWidth = Math.max(8, props.width - left.length - tail.length);
  return (
    <Box flexDirection="column" height={2}>
      <Text wrap="truncate">
        <Text bold>vhsm {s.version}</Text>
        {`  up ${f.duration(s.uptimeSeconds)}  db ${f.bytes(s.dbSize)}  data `}
        {f.fit(s.dataDir, dataWidth).trimEnd()}
        {"  self-test "}
        <Text color={selfTestOk ? t.kind(0) : t.bad} bold={!selfTestOk}>
          {s.selfTest}
        </Text>
      </Text>
      <Text wrap="truncate">
        {`keys ${f.count(s.keys)}  users ${f.count(s.users)}  containers ${f.count(s.containers)}  connections ${f.count(s.connections)}  source ${props.source}`}
        {props.paused ? (
          <Text inverse color={t.warn}>
            {" PAUSED "}
          </Text>
        ) : (
          ""
        )}
      </Text>
    </Box>
  );
}
