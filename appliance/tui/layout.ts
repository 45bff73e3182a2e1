/**
 * Which panels fit: a tall terminal shows all three stacked; a short one (80×24) shows the active
 * panel only. Heights are content rows inside each panel's border.
 */

export const PANELS = ["traffic", "containers", "events"] as const;
export type Panel = (typeof PANELS)[number];

/** Header (2), tab bar (1), key bar (1). */
const CHROME = 4;
/** Below this many rows the panels take turns. */
export const STACK_MIN_ROWS = 40;

export interface PanelBox {
  panel: Panel;
  /** Content rows, inside the border. */
  height: number;
}

export function layout(rows: number, active: Panel, kinds: number): PanelBox[] {
  const space = Math.max(6, rows - CHROME);
  if (rows < STACK_MIN_ROWS) return [{ panel: active, height: space - 2 }];
  const content = space - 6; // three panels, each with a top and bottom border
  // traffic: a chart of about 8 rows, title, axis, table header and one row per kind
  const traffic = Math.min(Math.floor(content / 2), 11 + Math.max(1, kinds));
  const containers = Math.ceil((content - traffic) / 2);
  return [
    { panel: "traffic", height: traffic },
    { panel: "containers", height: containers },
    { panel: "events", height: content - traffic - containers },
  ];
}
