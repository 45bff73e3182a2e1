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

/** Takes over the terminal (alternate screen) until the operator quits. */
export async function runDashboard(source: DashboardSource, mode: DashboardMode): Promise<void> {
  const instance = render(<LiveDashboard source={source} mode={mode} />, {
    exitOnCtrlC: false,
    maxFps: 4,
    alternateScreen: true,
    patchConsole: true,
    // the caller already chose the dashboard because stdin and stdout are terminals; ink would
    // otherwise fall back to printing only the last frame whenever CI=true is in the environment
    interactive: true,
  });
  await instance.waitUntilExit();
}
