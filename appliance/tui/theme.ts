/** Colours, or none: NO_COLOR (https://no-color.org) turns every colour off; bold and inverse stay. */
import { createContext, useContext } from "react";
import { MONO_FILLS } from "./chart.ts";

const KIND_COLOURS = ["green", "cyan", "yellow", "magenta", "blue", "red", "white"];

export interface Theme {
  colour: boolean;
  /** A colour name for ink's `color` prop, or undefined. */
  kind(index: number): string | undefined;
  accent: string | undefined;
  warn: string | undefined;
  bad: string | undefined;
  dim: boolean;
  fills: readonly string[];
}

export function makeTheme(colour: boolean): Theme {
  return {
    colour,
    kind: (i) => (colour ? KIND_COLOURS[i % KIND_COLOURS.length] : undefined),
    accent: colour ? "cyan" : undefined,
    warn: colour ? "yellow" : undefined,
    bad: colour ? "red" : undefined,
    dim: colour,
    fills: colour ? MONO_FILLS.map(() => "█") : MONO_FILLS,
  };
}

export function colourFromEnv(env: Record<string, string | undefined> = process.env): boolean {
  return !env.NO_COLOR;
}

export const ThemeContext = createContext<Theme>(makeTheme(true));
export const useTheme = () => useContext(ThemeContext);
