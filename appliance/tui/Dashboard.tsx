/**
 * The dashboard screen: header, tab bar, panels, key bar, and the keys. It renders a DashboardView it
 * is given; polling lives in live.tsx, so tests can feed it snapshots directly.
 */
import { Box, Text, useInput, useWindowSize } from "ink";
import { useRef, useState } from "react";
import { Containers } from "./components/Containers.tsx";
import { Events } from "./components/Events.tsx";
import { Header } from "./components/Header.tsx";
import { Help } from "./components/Help.tsx";
import { Traffic } from "./components/Traffic.tsx";
import { Users } from "./components/Users.tsx";
import { layout, PANELS, type Panel } from "./layout.ts";
import { containerRows, filterRows, nextSort, type SortColumn, scrollTop, sortRows } from "./table.ts";
import { colourFromEnv, makeTheme, ThemeContext, useTheme } from "./theme.ts";
import type { UserInfo } from "./types.ts";
import type { DashboardView } from "./view.ts";

export type DashboardMode = "attached" | "foreground";

export interface DashboardProps {
  view: DashboardView;
  mode: DashboardMode;
  loadUsers(container: string): Promise<UserInfo[]>;
  /** Called once the operator has decided to quit (after confirming, in foreground mode). */
  onQuit(): void;
  /** Fixed size for tests; otherwise the terminal's, following resizes. */
  size?: { columns: number; rows: number };
  colour?: boolean;
  /** Clock for "last activity" and the chart's time axis; tests pin it. */
  now?: () => number;
}

interface UsersState {
  container: string;
  users: UserInfo[] | null;
  error?: string;
}

export function Dashboard(props: DashboardProps) {
  const theme = makeTheme(props.colour ?? colourFromEnv());
  return (
    <ThemeContext.Provider value={theme}>
      <Screen {...props} />
    </ThemeContext.Provider>
  );
}

function Screen(props: DashboardProps) {
  const t = useTheme();
  const terminal = useWindowSize();
  const { columns, rows } = props.size ?? terminal;
  const [panel, setPanel] = useState<Panel>("traffic");
  const [paused, setPaused] = useState<DashboardView | null>(null);
  const [help, setHelp] = useState(false);
  const [confirmQuit, setConfirmQuit] = useState(false);
  const [sort, setSort] = useState<SortColumn>("ops/s");
  const [filter, setFilter] = useState("");
  const [editingFilter, setEditingFilter] = useState(false);
  const [selectedName, setSelectedName] = useState<string | null>(null);
  const topRef = useRef(0);
  const [users, setUsers] = useState<UsersState | null>(null);
  const [eventScroll, setEventScroll] = useState(0);

  const view = paused ?? props.view;
  const now = props.now?.() ?? (paused ? (view.stats?.time ?? Date.now()) : Date.now());
  const boxes = layout(rows, panel, view.kinds.length);
  const width = columns - 2;
  const rates = view.points.at(-1)?.containerOps ?? {};
  const allRows = containerRows(view.containers, view.stats, rates);
  const shownRows = filterRows(sortRows(allRows, sort), filter);
  // the selection follows the container, not the position, as rows re-sort under it
  const found = shownRows.findIndex((r) => r.name === selectedName);
  const selected = Math.max(found, 0);
  const containersBox = boxes.find((b) => b.panel === "containers");
  const visibleRows = Math.max(1, (containersBox?.height ?? 3) - 2);
  topRef.current = Math.min(
    scrollTop(topRef.current, selected, visibleRows),
    Math.max(0, shownRows.length - visibleRows),
  );

  const select = (i: number) => {
    const row = shownRows[Math.max(0, Math.min(shownRows.length - 1, i))];
    if (row) setSelectedName(row.name);
  };
  const quit = () => props.onQuit();
  const openUsers = (name: string) => {
    setUsers({ container: name, users: null });
    props.loadUsers(name).then(
      (list) => setUsers((u) => (u?.container === name ? { container: name, users: list } : u)),
      (err: Error) => setUsers((u) => (u?.container === name ? { ...u, error: err.message } : u)),
    );
  };

  useInput((input, key) => {
    if (key.ctrl && input === "c") return quit();
    if (confirmQuit) {
      if (input === "y" || input === "Y") return quit();
      return setConfirmQuit(false);
    }
    if (editingFilter) {
      if (key.return) return setEditingFilter(false);
      if (key.escape) {
        setFilter("");
        return setEditingFilter(false);
      }
      if (key.backspace || key.delete) return setFilter((f) => f.slice(0, -1));
      if (input && !key.ctrl && !key.meta) setFilter((f) => f + input);
      return;
    }
    if (input === "q") return props.mode === "attached" ? quit() : setConfirmQuit(true);
    if (help) return setHelp(false);
    if (input === "?") return setHelp(true);
    if (input === "p") return setPaused((p) => (p ? null : props.view));
    if (users) {
      if (key.escape || key.return || key.backspace || key.leftArrow) setUsers(null);
      return;
    }
    if (key.tab) {
      const i = PANELS.indexOf(panel) + (key.shift ? PANELS.length - 1 : 1);
      return setPanel(PANELS[i % PANELS.length]!);
    }
    if (input >= "1" && input <= "3") return setPanel(PANELS[Number(input) - 1]!);
    if (input === "s") {
      setPanel("containers");
      return setSort(nextSort);
    }
    if (input === "/") {
      setPanel("containers");
      return setEditingFilter(true);
    }
    if (panel === "events") {
      if (key.upArrow) setEventScroll((s) => s + 1);
      if (key.downArrow) setEventScroll((s) => Math.max(0, s - 1));
      if (key.end) setEventScroll(0);
      return;
    }
    if (panel !== "containers") return;
    if (key.upArrow) select(selected - 1);
    if (key.downArrow) select(selected + 1);
    if (key.pageUp) select(selected - visibleRows);
    if (key.pageDown) select(selected + visibleRows);
    if (key.home) select(0);
    if (key.end) select(shownRows.length - 1);
    if (key.escape && filter) setFilter("");
    if (key.return && shownRows[selected]) openUsers(shownRows[selected].name);
  });

  const body = (p: Panel, height: number) => {
    if (help) return <Help mode={props.mode} />;
    if (p === "traffic") return <Traffic view={view} width={width} height={height} now={now} />;
    if (p === "events")
      return <Events stats={view.stats} width={width} height={height} scroll={eventScroll} />;
    if (users) return <Users {...users} width={width} />;
    return (
      <Containers
        rows={shownRows}
        total={allRows.length}
        selected={selected}
        top={topRef.current}
        sort={sort}
        filter={filter}
        editingFilter={editingFilter}
        width={width}
        visible={visibleRows}
        now={now}
      />
    );
  };

  return (
    <Box flexDirection="column" width={columns} height={rows}>
      <Header stats={view.stats} source={view.source} paused={paused !== null} width={columns} />
      <Text wrap="truncate">
        {PANELS.map((p, i) => (
          <Text key={p} inverse={p === panel} bold={p === panel}>
            {p === panel ? `[${i + 1} ${p}]` : ` ${i + 1} ${p} `}
          </Text>
        ))}
        {view.error ? <Text color={t.bad}> {view.error}</Text> : null}
      </Text>
      {(help ? boxes.slice(0, 1) : boxes).map((b) => (
        <Box
          key={b.panel}
          borderStyle="round"
          borderColor={b.panel === panel && boxes.length > 1 ? t.accent : undefined}
          height={help ? rows - 4 : b.height + 2}
          flexDirection="column"
          overflow="hidden"
        >
          {body(b.panel, b.height)}
        </Box>
      ))}
      <KeyBar confirmQuit={confirmQuit} editingFilter={editingFilter} />
    </Box>
  );
}

function KeyBar(props: { confirmQuit: boolean; editingFilter: boolean }) {
  const t = useTheme();
  if (props.confirmQuit) {
    return (
      <Text inverse color={t.warn} wrap="truncate">
        {" Stop the appliance? y: stop · any other key: keep serving "}
      </Text>
    );
  }
  if (props.editingFilter) return <Text wrap="truncate"> type to filter · Enter keep · Esc clear</Text>;
  return (
    <Text wrap="truncate">
      {" "}
      q quit · tab panel · p pause · s sort · / filter · ↑↓ select · ⏎ users · ? help
    </Text>
  );
}
