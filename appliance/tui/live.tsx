/**
 * The dashboard wired to a source: polls stats and containers once a second (never on the request
 * path: a timer, one request pair per tick) and renders with ink at most a few frames a second.
 */
import { render, useApp } from "ink";
import { useEffect, useRef, useState } from "react";
import { Dashboard, type DashboardMode } from "./Dashboard.tsx";
import { RateHistory } from "./history.ts";
import type { DashboardSource } from "./source.ts";
import { type DashboardView, emptyView, viewOf } from "./view.ts";

export const POLL_MS = 1000;

export function LiveDashboard(props: {
  source: DashboardSource;
  mode: DashboardMode;
  intervalMs?: number;
  onQuit?: () => void;
}) {
  const { source } = props;
  const app = useApp();
  const history = useRef(new RateHistory()).current;
  const [view, setView] = useState<DashboardView>(() => emptyView(source.label));

  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = async () => {
      try {
        const [stats, containers] = await Promise.all([source.stats(), source.containers()]);
        history.push(stats);
        if (!stopped) setView(viewOf(source.label, history, stats, containers));
      } catch (err) {
        if (!stopped) setView((v) => ({ ...v, error: (err as Error).message }));
      }
      if (!stopped) timer = setTimeout(tick, props.intervalMs ?? POLL_MS);
    };
    void tick();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [source, history, props.intervalMs]);

  return (
    <Dashboard
      view={view}
      mode={props.mode}
      loadUsers={(name) => source.users(name)}
      onQuit={() => {
        props.onQuit?.();
        app.exit();
      }}
    />
  );
}

/**
 * How a dashboard ended: the operator quit it, or its terminal went away (a closed SSH session, a
 * killed tmux pane: stdin ends, writes fail with EIO).
 */
export type DashboardEnd = "quit" | "hangup";

/** Takes over the terminal (alternate screen) until the operator quits or the terminal hangs up. */
export async function runDashboard(source: DashboardSource, mode: DashboardMode): Promise<DashboardEnd> {
  const instance = render(<LiveDashboard source={source} mode={mode} />, {
    exitOnCtrlC: false,
    maxFps: 4,
    alternateScreen: true,
    patchConsole: true,
    // the caller already chose the dashboard because stdin and stdout are terminals; ink would
    // otherwise fall back to printing only the last frame whenever CI=true is in the environment
    interactive: true,
  });
  let end: DashboardEnd = "quit";
  // without this the dashboard would go on drawing into a terminal nobody has, once a second
  const hangup = () => {
    if (end === "hangup") return;
    end = "hangup";
    instance.unmount();
  };
  process.stdin.once("end", hangup);
  process.stdout.on("error", hangup);
  try {
    await instance.waitUntilExit();
  } finally {
    process.stdin.off("end", hangup);
  }
  return end; // the stdout listener stays: a write after a hang-up must not become an uncaught error
}
