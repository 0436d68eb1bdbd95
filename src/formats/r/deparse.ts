/**
 * Short R-like renderings of calls for evidence (`system("echo pwned")`). A call is rendered once,
 * when the walk finishes it, from its cells; the calls inside it contribute their own rendering,
 * so nothing deeper than one level has to be kept.
 * @module
 */
import { preview } from "../../core/preview.js";
import type { RNode } from "./reader.js";

/** Longest rendering kept. */
export const PREVIEW_CHARS = 160;

// SEXP types used here (mirrors `SXP` in reader.ts, which imports this module)
const SYM = 1;
const LIST = 2;
const CLO = 3;
const PROM = 5;
const LANG = 6;
const SPECIAL = 7;
const BUILTIN = 8;
const CHAR = 9;
const LGL = 10;
const INT = 13;
const REAL = 14;
const STR = 16;
const BCODE = 21;
const MISSINGARG = 251;
const NILVALUE = 254;

const SYNTACTIC = /^((([A-Za-z]|[.][A-Za-z._])[A-Za-z0-9._]*)|[.])$/;
const INFIX = new Set([
  "+",
  "-",
  "*",
  "/",
  "^",
  "==",
  "!=",
  "<",
  ">",
  "<=",
  ">=",
  "&",
  "&&",
  "|",
  "||",
  "~",
  ":",
  "$",
  "@",
  "<-",
  "=",
  "%%",
  "%/%",
  "%in%",
  "::",
  ":::",
]);
const TIGHT = new Set(["::", ":::", "$", "@", ":"]);

/** One item, without looking inside anything but a call's own rendering. */
function leaf(node: RNode): string {
  switch (node.type) {
    case SYM:
      return node.name === undefined ? "?" : SYNTACTIC.test(node.name) ? node.name : `\`${node.name}\``;
    case STR: {
      const shown = (node.strings ?? []).map((s) => JSON.stringify(s));
      if (node.length === 1) return shown[0] ?? '""';
      return `c(${shown.join(", ")}${(node.length ?? 0) > shown.length ? ", …" : ""})`;
    }
    case CHAR:
      return JSON.stringify(node.name ?? "NA");
    case INT:
    case REAL:
    case LGL:
      if (node.value !== undefined)
        return node.type === LGL
          ? node.value === 0
            ? "FALSE"
            : "TRUE"
          : `${node.value}${node.type === INT ? "L" : ""}`;
      return `<${node.type === INT ? "int" : node.type === REAL ? "dbl" : "lgl"}[${node.length ?? "?"}]>`;
    case NILVALUE:
      return "NULL";
    case MISSINGARG:
      return "";
    case CLO:
      return "function(…) …";
    case BCODE:
      return "<bytecode>";
    case PROM:
      return "<promise>";
    case BUILTIN:
    case SPECIAL:
      return `.Primitive(${JSON.stringify(node.name ?? "")})`;
    case LANG:
      return node.preview ?? "<call>";
    case LIST:
      return "pairlist(…)";
    default:
      return `<${node.type}>`;
  }
}

/**
 * Renders a call from its cells (its inner calls already rendered).
 * @param node - a LANGSXP with its cells
 */
export function renderCall(node: RNode): string {
  const cells = node.cells ?? [];
  const fn = cells[0]?.value;
  if (fn === undefined) return "<call>";
  const name = fn.type === SYM ? fn.name : undefined;
  const arg = (i: number): string => {
    const c = cells[i]!;
    return c.tag === undefined ? leaf(c.value) : `${c.tag} = ${leaf(c.value)}`;
  };
  const args = (from: number): string =>
    cells
      .slice(from)
      .map((_, i) => arg(from + i))
      .join(", ");
  let out: string;
  if (name !== undefined && INFIX.has(name) && cells.length === 3 && cells[1]?.tag === undefined)
    out = `${leaf(cells[1]!.value)}${TIGHT.has(name) ? name : ` ${name} `}${leaf(cells[2]!.value)}`;
  else if (name === "~" && cells.length === 2) out = `~${leaf(cells[1]!.value)}`;
  else if (name === "{")
    out = `{ ${cells
      .slice(1)
      .map((c) => leaf(c.value))
      .join("; ")} }`;
  else if (name === "(" && cells.length === 2) out = `(${leaf(cells[1]!.value)})`;
  else out = `${fn.type === LANG ? `(${leaf(fn)})` : leaf(fn)}(${args(1)})`;
  return out.length > PREVIEW_CHARS ? `${out.slice(0, PREVIEW_CHARS)}…` : out;
}

/**
 * A printable rendering of any item, for evidence.
 * @param node - the item
 * @param max - maximum characters
 */
export function deparse(node: RNode | undefined, max = PREVIEW_CHARS): string {
  return node === undefined ? "" : preview(leaf(node), max);
}
