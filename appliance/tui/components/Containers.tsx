/** The containers table: one row per container, the selected row inverted; title shows sort and filter. */
import { Box, Text } from "ink";
import * as f from "../format.ts";
import type { ContainerRow, SortColumn } from "../table.ts";
import { useTheme } from "../theme.ts";

export interface ContainersProps {
  rows: ContainerRow[];
  total: number;
  selected: number;
  top: number;
  sort: SortColumn;
  filter: string;
  editingFilter: boolean;
  width: number;
  /** Rows available for container lines (after title and column header). */
  visible: number;
  now: number;
}

const NUMERIC: [string, number][] = [
  ["sessions", 9],
  ["ops/s", 8],
  ["errors", 7],
  ["last activity", 14],
  ["locked", 7],
  ["keys", 6],
];

export function Containers(p: ContainersProps) {
  const t = useTheme();
  const nameWidth = Math.max(8, p.width - NUMERIC.reduce((a, [, w]) => a + w, 0));
  const header = f.fit("name", nameWidth) + NUMERIC.map(([n, w]) => f.fit(n, w, "right")).join("");
  const shown = p.rows.slice(p.top, p.top + p.visible);
  const filterText = p.editingFilter ? `filter: ${p.filter}▏` : p.filter ? `filter: ${p.filter}` : "/ filter";
  return (
    <Box flexDirection="column">
      <Text wrap="truncate">
        <Text bold>Containers</Text>
        {` ${p.rows.length === p.total ? p.total : `${p.rows.length} of ${p.total}`}  sort: `}
        <Text color={t.accent}>{p.sort}</Text>
        {"  "}
        <Text color={p.editingFilter ? t.warn : undefined} inverse={p.editingFilter && !t.colour}>
          {filterText}
        </Text>
        {p.rows.length > p.visible ? `  ${p.top + 1}-${p.top + shown.length}/${p.rows.length}` : ""}
      </Text>
      <Text bold wrap="truncate">
        {header.replace(p.sort === "name" ? "name" : p.sort, (m) => m.toUpperCase())}
      </Text>
      {p.total === 0 ? <Text>no containers enrolled (vhsm-provision enroll NAME)</Text> : null}
      {p.total > 0 && p.rows.length === 0 ? <Text>no container matches “{p.filter}”</Text> : null}
      {shown.map((r, i) => {
        const cells = [
          f.count(r.sessions),
          f.count(r.opsPerSecond),
          f.count(r.errors),
          f.age(r.lastActivity, p.now),
          r.lockedUsers ? `${r.lockedUsers}/${r.users}` : "0",
          f.count(r.keys),
        ];
        const line =
          f.fit(r.revoked ? `${r.name} (revoked)` : r.name, nameWidth) +
          cells.map((c, j) => f.fit(c, NUMERIC[j]![1], "right")).join("");
        return (
          <Text
            key={r.name}
            wrap="truncate"
            inverse={p.top + i === p.selected}
            color={r.lockedUsers > 0 ? t.warn : r.revoked ? undefined : undefined}
            dimColor={r.revoked && t.dim}
          >
            {line}
          </Text>
        );
      })}
    </Box>
  );
}
