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
import { type Effect, INITIAL_UI, type KeyContext, press, presses, type UiState } from "./keys.ts";
import { layout, PANELS, type Panel } from "./layout.ts";
import { containerRows, filterRows, scrollTop, sortRows } from "./table.ts";
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
  const [ui, setUi] = useState<UiState>(INITIAL_UI);
  // keys can arrive faster than React re-renders: each press builds on the last, not on the render
  const uiRef = useRef(ui);
  const [frozen, setFrozen] = useState<DashboardView | null>(null);
  const [users, setUsers] = useState<UsersState | null>(null);
  const topRef = useRef(0);

  const view = frozen ?? props.view;
  const now = props.now?.() ?? (frozen ? (view.stats?.time ?? Date.now()) : Date.now());
  const boxes = layout(rows, ui.panel, view.kinds.length);
  const width = columns - 2;
  const rates = view.points.at(-1)?.containerOps ?? {};
  const allRows = containerRows(view.containers, view.stats, rates);
  const shownRows = filterRows(sortRows(allRows, ui.sort), ui.filter);
  const selected = Math.max(
    shownRows.findIndex((r) => r.name === ui.selected),
    0,
  );
  const containersBox = boxes.find((b) => b.panel === "containers");
  const visibleRows = Math.max(1, (containersBox?.height ?? 3) - 2);
  topRef.current = Math.min(
    scrollTop(topRef.current, selected, visibleRows),
    Math.max(0, shownRows.length - visibleRows),
  );
  const { panel, help, sort, filter, editingFilter, eventScroll } = ui;

  const openUsers = (name: string) => {
    setUsers({ container: name, users: null });
    props.loadUsers(name).then(
      (list) => setUsers((u) => (u?.container === name ? { container: name, users: list } : u)),
      (err: Error) => setUsers((u) => (u?.container === name ? { ...u, error: err.message } : u)),
    );
  };

  useInput((input, key) => {
    const ctx: KeyContext = { mode: props.mode, rows: shownRows.map((r) => r.name), pageSize: visibleRows };
    let state = uiRef.current;
    const effects: Effect[] = [];
    for (const [ch, k] of presses(input, key)) {
      const [next, fx] = press(state, ch, k, ctx);
      state = next;
      effects.push(...fx);
    }
    uiRef.current = state;
    setUi(state);
    for (const e of effects) {
      if (e === "quit") return props.onQuit();
      if (e === "pause") setFrozen((f) => (f ? null : props.view));
      else openUsers(e.openUsers);
    }
  });
  const shownUsers = ui.usersOf ? users : null;

  const body = (p: Panel, height: number) => {
    if (help) return <Help mode={props.mode} />;
    if (p === "traffic") return <Traffic view={view} width={width} height={height} now={now} />;
    if (p === "events")
      return <Events stats={view.stats} width={width} height={height} scroll={eventScroll} />;
    if (shownUsers) return <Users {...shownUsers} width={width} />;
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
      <Header stats={view.stats} source={view.source} paused={frozen !== null} width={columns} />
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
      <KeyBar confirmQuit={ui.confirmQuit} editingFilter={editingFilter} />
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
