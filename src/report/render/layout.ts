/**
 * Layout helpers of the text report: styled spans, wrapping to a width, human-readable sizes and
 * the colour decision.
 *
 * A line is a list of spans; a span's text is already escaped (see `escape.ts`) or is the
 * renderer's own. Styles are applied per span and per output line after wrapping, so a wrapped
 * line never splits an escape sequence and every output line closes what it opens.
 * @module
 */

import { styleText } from "../../core/node-util.js";

/** A style the text report applies to its own words (verdicts, severities, statuses, headings). */
export type StyleName = "red" | "yellow" | "green" | "magenta" | "cyan" | "dim" | "bold";

/** A style applied to a span of text (colour, bold...). Identity when colour is off. */
export type Stylize = (style: StyleName, text: string) => string;

/** A span of one line: escaped or renderer-owned text, and an optional style. */
export interface Span {
  readonly text: string;
  readonly style?: StyleName | undefined;
}

/** A line as spans. */
export type Line = readonly Span[];

/** No styling. */
export const plainStyle: Stylize = (_style, text) => text;

/** ANSI SGR styling (what `node:util` `styleText` writes), whatever the output stream is. */
export const ansiStyle: Stylize = (style, text) =>
  text === "" ? text : styleText(style, text, { validateStream: false });

/** A plain span. */
export const t = (text: string): Span => ({ text });
/** A styled span. */
export const st = (style: StyleName, text: string): Span => ({ text, style });

/**
 * The text of a line without styles.
 * @param line - the spans
 */
export function plainText(line: Line): string {
  return line.map((s) => s.text).join("");
}

/** Code points of a text (so a wrap never splits a surrogate pair). */
const points = (text: string): string[] => Array.from(text);

/**
 * A line wrapped to `width` columns (counted in code points), continuation lines indented by
 * `indent` spaces, each output line styled on its own. Breaks at the last space that fits, or
 * inside a word longer than the room left. No wrapping when `width` is undefined.
 * @param line - the spans (already escaped)
 * @param width - the terminal width, or undefined
 * @param indent - the hanging indent of continuation lines
 * @param stylize - the styling function
 */
export function wrapLine(line: Line, width: number | undefined, indent: number, stylize: Stylize): string[] {
  const render = (spans: readonly Span[]) =>
    spans.map((s) => (s.style === undefined ? s.text : stylize(s.style, s.text))).join("");
  const total = points(plainText(line)).length;
  if (width === undefined || total <= width) return [render(line)];
  const pad = Math.min(indent, Math.max(0, width - 20));
  // One entry per code point, with its span's style; then cut into rows.
  const chars: { c: string; style: StyleName | undefined }[] = [];
  for (const span of line) for (const c of points(span.text)) chars.push({ c, style: span.style });
  const rows: (typeof chars)[] = [];
  let start = 0;
  let room = Math.max(1, width);
  while (start < chars.length) {
    if (chars.length - start <= room) {
      rows.push(chars.slice(start));
      break;
    }
    let cut = -1;
    for (let i = start + room; i > start; i--) {
      if (chars[i]?.c === " ") {
        cut = i;
        break;
      }
    }
    if (cut <= start) cut = start + room;
    let end = cut;
    while (end > start && chars[end - 1]?.c === " ") end--;
    rows.push(chars.slice(start, end > start ? end : cut));
    start = cut;
    while (start < chars.length && chars[start]?.c === " ") start++;
    room = Math.max(1, width - pad);
  }
  return rows.map((row, i) => {
    const spans: Span[] = [];
    for (const { c, style } of row) {
      const last = spans[spans.length - 1];
      if (last !== undefined && last.style === style) spans[spans.length - 1] = { text: last.text + c, style };
      else spans.push({ text: c, style });
    }
    return (i === 0 ? "" : " ".repeat(pad)) + render(spans);
  });
}

/**
 * A line cut to `width` code points (`...` at the end when cut), styles kept per span; unchanged
 * when `width` is undefined.
 * @param line - the spans
 * @param width - the room, or undefined
 */
export function fitLine(line: Line, width: number | undefined): Line {
  if (width === undefined) return line;
  const total = points(plainText(line)).length;
  if (total <= width) return line;
  const out: Span[] = [];
  let room = Math.max(0, width - 3);
  for (const span of line) {
    const cs = points(span.text);
    if (cs.length <= room) {
      out.push(span);
      room -= cs.length;
      continue;
    }
    if (room > 0) out.push({ text: cs.slice(0, room).join(""), style: span.style });
    break;
  }
  out.push({ text: "..." });
  return out;
}

const UNITS = ["B", "kB", "MB", "GB", "TB", "PB"] as const;

/**
 * A byte count for people, in SI units: `78 B`, `1.2 kB`, `34 MB`, `1.5 GB`.
 * @param bytes - a non-negative byte count
 */
export function formatSize(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 1000) return `${Math.max(0, Math.round(bytes))} B`;
  let value = bytes;
  let unit = 0;
  while (value >= 999.95 && unit < UNITS.length - 1) {
    value /= 1000;
    unit++;
  }
  // One decimal below 10 (1.2 MB), none above (34 MB, 876 kB).
  const text = value < 9.95 ? value.toFixed(1) : Math.round(value).toString();
  return `${text} ${UNITS[unit]}`;
}

/** What decides whether output is coloured. */
export interface ColorDecision {
  /** `--color` (true) or `--no-color` (false); undefined when neither was given. */
  readonly flag?: boolean | undefined;
  /** The environment (`FORCE_COLOR`, `NO_COLOR`, `TERM`). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Whether the output stream is a terminal. */
  readonly isTTY: boolean;
}

/**
 * Whether to colour output: the flag wins; then `FORCE_COLOR` (set and not `0`/`false`: on;
 * `0`/`false`: off), then `NO_COLOR` (set and non-empty: off), then `TERM=dumb` (off); otherwise
 * colour only on a terminal.
 * @param decision - flag, environment and terminal
 */
export function shouldColor(decision: ColorDecision): boolean {
  if (decision.flag !== undefined) return decision.flag;
  const force = decision.env.FORCE_COLOR;
  if (force !== undefined) return force !== "0" && force.toLowerCase() !== "false";
  if (decision.env.NO_COLOR !== undefined && decision.env.NO_COLOR !== "") return false;
  if (decision.env.TERM === "dumb") return false;
  return decision.isTTY;
}
