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
    // assignments and help change what the top-level call is; `=` names an argument only inside parentheses
    if (/<-|->|\?/.test(t)) return "not a single ~ formula";
    let depth = 0;
    for (let k = 0; k < t.length; k++) {
      const ch = t[k]!;
      if (ch === "(" || ch === "[") depth++;
      else if (ch === ")" || ch === "]") depth--;
      else if (ch === "=" && depth <= 0 && !"=!<>".includes(t[k - 1] ?? "") && t[k + 1] !== "=")
        return "not a single ~ formula";
    }
  }
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
