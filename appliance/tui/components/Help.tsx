/** The key list, shown by `?`. */
import { Box, Text } from "ink";

export const HELP_LINES: [string, string][] = [
  ["q", "quit (attached `top`: the appliance keeps serving; `serve`: asks before stopping)"],
  ["tab / shift-tab, 1 2 3", "switch panel: traffic, containers, events"],
  ["p", "pause the display (sampling goes on)"],
  ["s", "containers: cycle the sort column"],
  ["/", "containers: filter by name (Enter keeps, Esc clears)"],
  ["↑ ↓ PgUp PgDn Home End", "select a container / scroll the log"],
  ["Enter", "users and key counts of the selected container"],
  ["?", "this help (any key closes it)"],
];

export function Help(props: { mode: "attached" | "foreground" }) {
  return (
    <Box flexDirection="column">
      <Text bold>Keys</Text>
      {HELP_LINES.map(([k, what]) => (
        <Text key={k} wrap="truncate">
          {k.padEnd(24)}
          {what}
        </Text>
      ))}
      <Text> </Text>
      <Text wrap="truncate">
        {props.mode === "attached"
          ? "Attached to a running appliance through its admin socket."
          : "Running inside `vhsm-appliance serve`: quitting stops the appliance."}
      </Text>
      <Text wrap="truncate">
        Rates come from successive snapshots; latency is the histogram bucket bound.
      </Text>
    </Box>
  );
}
