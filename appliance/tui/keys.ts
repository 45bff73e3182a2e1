/**
 * What each key does, as a pure function of the screen state. Terminals deliver fast typing and
 * tmux send-keys as one chunk ("bill\r"), so chunks are split and pressed one character at a time.
 */
import type { Key } from "ink";
import { PANELS, type Panel } from "./layout.ts";
import { nextSort, type SortColumn } from "./table.ts";

export interface UiState {
  panel: Panel;
  paused: boolean;
  help: boolean;
  confirmQuit: boolean;
  sort: SortColumn;
  filter: string;
  editingFilter: boolean;
  /** The selection follows the container, not the position, as rows re-sort under it. */
  selected: string | null;
  /** Container whose users are shown. */
  usersOf: string | null;
  eventScroll: number;
}

export const INITIAL_UI: UiState = {
  panel: "traffic",
  paused: false,
  help: false,
  confirmQuit: false,
  sort: "ops/s",
  filter: "",
  editingFilter: false,
  selected: null,
  usersOf: null,
  eventScroll: 0,
};

export interface KeyContext {
  mode: "attached" | "foreground";
  /** Container names in the order the table shows them. */
  rows: readonly string[];
  pageSize: number;
}

export type Effect = "quit" | "pause" | { openUsers: string };

const NO_KEY = {} as Key;

/** Splits a plain-text chunk into single key presses; escape sequences arrive already parsed. */
export function presses(input: string, key: Key): [string, Key][] {
  if (input.length <= 1 || key.ctrl || key.meta || input.includes("\u001b")) return [[input, key]];
  return [...input].map((ch) => [ch, { ...NO_KEY, return: ch === "\r", tab: ch === "\t" }]);
}

export function press(s: UiState, input: string, key: Key, ctx: KeyContext): [UiState, Effect[]] {
  if (key.ctrl && input === "c") return [s, ["quit"]];
  if (s.confirmQuit)
    return input === "y" || input === "Y" ? [s, ["quit"]] : [{ ...s, confirmQuit: false }, []];
  if (s.editingFilter) {
    if (key.return) return [{ ...s, editingFilter: false }, []];
    if (key.escape) return [{ ...s, filter: "", editingFilter: false }, []];
    if (key.backspace || key.delete) return [{ ...s, filter: s.filter.slice(0, -1) }, []];
    if (input && !key.ctrl && !key.meta && input >= " ") return [{ ...s, filter: s.filter + input }, []];
    return [s, []];
  }
  if (input === "q") return ctx.mode === "attached" ? [s, ["quit"]] : [{ ...s, confirmQuit: true }, []];
  if (s.help) return [{ ...s, help: false }, []];
  if (input === "?") return [{ ...s, help: true }, []];
  if (input === "p") return [{ ...s, paused: !s.paused }, ["pause"]];
  if (s.usersOf) {
    if (key.escape || key.return || key.backspace || key.leftArrow) return [{ ...s, usersOf: null }, []];
    return [s, []];
  }
  if (key.tab) {
    const i = PANELS.indexOf(s.panel) + (key.shift ? PANELS.length - 1 : 1);
    return [{ ...s, panel: PANELS[i % PANELS.length]! }, []];
  }
  if (input >= "1" && input <= "3") return [{ ...s, panel: PANELS[Number(input) - 1]! }, []];
  if (input === "s") return [{ ...s, panel: "containers", sort: nextSort(s.sort) }, []];
  if (input === "/") return [{ ...s, panel: "containers", editingFilter: true }, []];
  if (s.panel === "events") {
    if (key.upArrow) return [{ ...s, eventScroll: s.eventScroll + 1 }, []];
    if (key.downArrow) return [{ ...s, eventScroll: Math.max(0, s.eventScroll - 1) }, []];
    if (key.end) return [{ ...s, eventScroll: 0 }, []];
    return [s, []];
  }
  if (s.panel !== "containers") return [s, []];
  if (key.escape && s.filter) return [{ ...s, filter: "" }, []];
  const at = Math.max(0, ctx.rows.indexOf(s.selected ?? ""));
  const go = (i: number) => ({
    ...s,
    selected: ctx.rows[Math.max(0, Math.min(ctx.rows.length - 1, i))] ?? null,
  });
  if (key.upArrow) return [go(at - 1), []];
  if (key.downArrow) return [go(at + 1), []];
  if (key.pageUp) return [go(at - ctx.pageSize), []];
  if (key.pageDown) return [go(at + ctx.pageSize), []];
  if (key.home) return [go(0), []];
  if (key.end) return [go(ctx.rows.length - 1), []];
  const name = ctx.rows[at];
  if (key.return && name) return [{ ...s, selected: name, usersOf: name }, [{ openUsers: name }]];
  return [s, []];
}
