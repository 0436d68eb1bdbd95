/**
 * Judges R source text found as data: a string that a model method may parse and evaluate
 * (`formula("y ~ log(x)")`, `lm(formula = "y ~ x")`: stats' `formula.character` calls `str2lang`
 * and evaluates what is not a `~` formula, and `model.frame` evaluates a formula's variables).
 * The text is not parsed as R would: it is scanned for every way R text can call a function
 * (`name(`, `` `name`( ``, `"name"(`, `f(x)(`, `x$f(`), with comments skipped, and what it calls
 * must be allowed by the caller's predicate. Anything the scan cannot vouch for (escapes, a
 * computed function, a name that is not allowed) is a problem.
 * @module
 */
import { DANGEROUS_REFS } from "./names.js";

/** Characters scanned per text (R strings kept by the walk are shorter). */
const MAX_TEXT = 4096;

/** Characters that may make text code: without any of them it is a name or a number. */
const CODE_CHARS = /[(`\\#{~;=]/;

/** Whether a string kept by the walk may hold code worth judging. */
export function mayBeCode(text: string): boolean {
  return CODE_CHARS.test(text);
}

const IDENT_START = /[\p{L}.]/u;
const IDENT_PART = /[\p{L}\p{N}._]/u;
/** Words that open R control flow or a function: never part of a formula's text. */
const KEYWORDS: ReadonlySet<string> = new Set(["function", "if", "for", "while", "repeat", "switch"]);

/**
 * What is wrong with a text that R may parse and evaluate, or `undefined` when every call it
 * makes is allowed.
 * @param text - the text
 * @param allowed - whether a function name (bare, as written after any `pkg::`) may be called
 * @param formula - the text is given to a function that turns text into a formula
 *   (`formula`, `as.formula`, `reformulate`): it must also be a `~` formula, not a block or an
 *   assignment, which `formula.character` would evaluate
 */
export function textProblem(text: string, allowed: (name: string) => boolean, formula: boolean): string | undefined {
  if (text.length > MAX_TEXT) return "text longer than scanned";
  if (text.includes("\\")) return "text with escapes";
  if (formula) {
    const t = text.trim();
    if (!t.includes("~")) return "not a ~ formula";
    if (t.startsWith("{") || t.startsWith("(")) return "a block, not a ~ formula";
    // help changes what the top-level call is
    if (t.includes("?")) return "not a single ~ formula";
  }
  const bound = bindingProblem(text);
  if (bound !== undefined) return bound;
  const n = text.length;
  let i = 0;
  /** The index of the next significant character from `j` (whitespace, comments, quotes skipped). */
  const skip = (from: number): number => {
    let j = from;
    while (j < n) {
      const c = text[j]!;
      if (c === "#") {
        while (j < n && text[j] !== "\n") j++;
      } else if (/\s/.test(c) || c === "'" || c === '"' || c === "`") j++;
      else break;
    }
    return j;
  };
  // the last two characters before `i` that are not whitespace: `x$f(` and `x$"f"(` take `f` from `x`
  let last = "";
  let beforeLast = "";
  const see = (ch: string): void => {
    if (/\s/.test(ch)) return;
    beforeLast = last;
    last = ch;
  };
  while (i < n) {
    const c = text[i]!;
    if (IDENT_START.test(c)) {
      let j = i + 1;
      while (j < n && IDENT_PART.test(text[j]!)) j++;
      const name = text.slice(i, j);
      const member = last === "$" || last === "@" || (/["'`]/.test(last) && (beforeLast === "$" || beforeLast === "@"));
      if (text[skip(j)] === "(") {
        if (member) return `calls ${name} taken from an object`;
        if (KEYWORDS.has(name) && formula) return `uses ${name}`;
        if (!KEYWORDS.has(name) && !allowed(name)) return `calls ${name}`;
      } else if (!member && (DANGEROUS_REFS.has(name) || PASSED_BY_NAME.has(name))) return `names ${name}`;
      see(text[j - 1]!);
      i = j;
      continue;
    }
    // `f(x)(y)`, `l[[1]](y)`, `{...}(y)`: a call of a computed function
    if ((c === ")" || c === "]" || c === "}") && text[skip(i + 1)] === "(") return "calls a computed function";
    see(c);
    i++;
  }
  return undefined;
}

/** Functions that call a function handed to them (`do.call`), besides {@link DANGEROUS_REFS}. */
const PASSED_BY_NAME: ReadonlySet<string> = new Set(["do.call", "match.fun", "get", "get0", "mget", "Recall"]);

/**
 * Whether text binds a name, which lets later allowed calls run anything (`(log = pipe)` then
 * `log("cmd", "r")`): `<-`, `<<-`, `->`, `->>` and `function` anywhere, and `=` anywhere but
 * directly inside a call's or an index's brackets (an argument name). A `(` right after a name, a
 * closing bracket or a quote opens a call; any other `(` is a bare group, `{` a block.
 */
function bindingProblem(text: string): string | undefined {
  if (/<-|->|<<-/.test(text)) return "binds a name with an arrow";
  if (/(^|[^\p{L}\p{N}._])function([^\p{L}\p{N}._]|$)|\\\s*\(/u.test(text)) return "defines a function";
  /** Open brackets: true for a call's or an index's, false for a bare group or a block. */
  const open: boolean[] = [];
  let prev = "";
  for (let k = 0; k < text.length; k++) {
    const ch = text[k]!;
    if (ch === "(" || ch === "[") open.push(ch === "[" || /[\p{L}\p{N}._)\]'"`]/u.test(prev));
    else if (ch === "{") open.push(false);
    else if (ch === ")" || ch === "]" || ch === "}") open.pop();
    else if (ch === "=" && !"=!<>".includes(text[k - 1] ?? "") && text[k + 1] !== "=" && open.at(-1) !== true)
      return "binds a name with =";
    if (!/\s/.test(ch)) prev = ch;
  }
  return undefined;
}
