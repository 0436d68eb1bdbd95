/**
 * Token-level view of a Jinja template that does not depend on a parser: the template cut into
 * regions the way Jinja's own lexer cuts it (text, comments, raw blocks, `{{ … }}`, `{% … %}`),
 * the string literals of the code regions decoded as Jinja decodes them (Python's escape rules),
 * and the code text with literals blanked out.
 *
 * Why: every other view of the template (the parser input, the token-level checks) is built from
 * these regions, so a `{% raw %}` inside a comment or a `%}` inside a string literal is read where
 * Jinja reads it, and a literal's value is the one Python computes.
 * @module
 */

/** A string literal found in a code region. */
export interface RawLiteral {
  /** The literal as written, quotes excluded. */
  readonly raw: string;
  /** The value after Python escape decoding. */
  readonly value: string;
  /** True when an escape produced a letter, digit or underscore (no reason to escape those). */
  readonly needlessEscape: boolean;
  /** False when an escape could not be decoded as Python would (`\N{…}` of a name not known here). */
  readonly exact: boolean;
  /** Character offset of the opening quote. */
  readonly offset: number;
}

/** A piece of a code region: code text, or the index of a literal in {@link CodeScan.literals}. */
export type CodeSegment = string | number;

/** Whitespace-control sign written next to a delimiter (`{%-`, `+%}`). */
export type TrimSign = "" | "-" | "+";

/** One region of the template, in source order. */
export type Region =
  | { readonly kind: "text"; readonly start: number; readonly end: number }
  | {
      readonly kind: "comment";
      readonly start: number;
      readonly end: number;
      readonly ltrim: TrimSign;
      readonly rtrim: TrimSign;
    }
  | {
      /** `{% raw %}…{% endraw %}`: `content` is the inert text Jinja outputs. */
      readonly kind: "raw";
      readonly start: number;
      readonly end: number;
      readonly content: string;
      readonly ltrim: TrimSign;
      readonly rtrim: TrimSign;
    }
  | {
      readonly kind: "expr" | "stmt";
      readonly start: number;
      readonly end: number;
      readonly ltrim: TrimSign;
      readonly rtrim: TrimSign;
      /** Code between the delimiters (trim signs excluded), literals as indexes. */
      readonly segments: readonly CodeSegment[];
    };

/** Result of {@link scanTemplateCode}. */
export interface CodeScan {
  /** String literals in code regions, in order. */
  readonly literals: readonly RawLiteral[];
  /** Code regions joined by newlines, each literal replaced by `""`. */
  readonly code: string;
  /** Statement keywords (`include`, `import`, `set` ...) in order. */
  readonly statements: readonly string[];
  /** The template's regions, in order, covering it from start to end. */
  readonly regions: readonly Region[];
  /** False when a budget stopped the scan from recording every literal or region. */
  readonly complete: boolean;
}

const MAX_LITERALS = 200_000;
const MAX_REGIONS = 400_000;

/** Python's `\s` (str patterns): JavaScript's `\s` lacks U+001C–U+001F and U+0085, and adds U+FEFF. */
export const PY_SPACE = "[\\t-\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]";
const RAW_BEGIN = new RegExp(`^\\{%([-+]?)${PY_SPACE}*raw${PY_SPACE}*(-?)%\\}`);
const RAW_END = new RegExp(`\\{%([-+]?)${PY_SPACE}*endraw${PY_SPACE}*([-+]?)%\\}`, "g");
const PY_SPACE_CHAR = new RegExp(`^${PY_SPACE}$`);
const KEYWORD = new RegExp(`^${PY_SPACE}*([A-Za-z_]\\w*)`);
const OPENERS = "([{";
const CLOSERS = ")]}";

/**
 * Scans a template into regions as Jinja's lexer does: a tag opens at the first `{{`, `{%` or
 * `{#`; a comment ends at the first `#}`; a raw block at the first `{% endraw %}`; a code region at
 * the first `}}`/`%}` outside string literals and outside brackets (Jinja ends a tag only when its
 * brackets balance, so `{{ {'a': {'b': 1}} }}` is one expression).
 * @param text - template source
 */
export function scanTemplateCode(text: string): CodeScan {
  const literals: RawLiteral[] = [];
  const code: string[] = [];
  const statements: string[] = [];
  const regions: Region[] = [];
  let complete = true;
  const push = (r: Region): void => {
    if (regions.length < MAX_REGIONS) regions.push(r);
    else complete = false;
  };
  let i = 0;
  const n = text.length;
  while (i < n) {
    const open = nextTag(text, i);
    if (open < 0) {
      push({ kind: "text", start: i, end: n });
      break;
    }
    if (open > i) push({ kind: "text", start: i, end: open });
    const next = text[open + 1];
    if (next === "#") {
      const close = text.indexOf("#}", open + 2);
      const end = close < 0 ? n : close + 2;
      const ltrim = sign(text[open + 2]);
      const rtrim = close > open + 2 ? sign(text[close - 1]) : "";
      push({ kind: "comment", start: open, end, ltrim, rtrim });
      i = end;
      continue;
    }
    if (next === "%") {
      const raw = RAW_BEGIN.exec(text.slice(open, open + 256));
      if (raw !== null) {
        i = rawBlock(text, open, raw, push);
        statements.push("raw");
        continue;
      }
    }
    const closer = next === "{" ? "}}" : "%}";
    let j = open + 2;
    const ltrim = sign(text[j]);
    if (ltrim !== "") j++;
    const segments: CodeSegment[] = [];
    let piece = "";
    let segStart = j;
    let depth = 0;
    while (j < n) {
      const c = text[j] ?? "";
      if (c === '"' || c === "'") {
        piece += text.slice(segStart, j);
        if (j > segStart) segments.push(text.slice(segStart, j));
        const lit = readLiteral(text, j);
        if (literals.length < MAX_LITERALS) {
          segments.push(literals.length);
          literals.push(lit.literal);
        } else complete = false;
        piece += '""';
        j = lit.end;
        segStart = j;
        continue;
      }
      if (depth === 0 && text.startsWith(closer, j)) break;
      if (OPENERS.includes(c)) depth++;
      else if (CLOSERS.includes(c) && depth > 0) depth--;
      j++;
    }
    let last = text.slice(segStart, Math.min(j, n));
    // `-%}`, `+%}`, `-}}`: the sign belongs to the delimiter (Jinja reads it as part of the end tag).
    let rtrim: TrimSign = "";
    if (j < n && (last.endsWith("-") || (closer === "%}" && last.endsWith("+")))) {
      rtrim = sign(last.at(-1));
      last = last.slice(0, -1);
    }
    piece += last;
    if (last !== "") segments.push(last);
    code.push(piece);
    const end = Math.min(j + 2, n);
    push({ kind: next === "{" ? "expr" : "stmt", start: open, end, ltrim, rtrim, segments });
    if (next === "%") {
      const kw = KEYWORD.exec(piece)?.[1];
      if (kw !== undefined) statements.push(kw);
    }
    i = end;
  }
  return { literals, code: code.join("\n"), statements, regions, complete };
}

/** Offset of the next `{{`, `{%` or `{#` at or after `from`, or -1. */
function nextTag(text: string, from: number): number {
  let k = from;
  for (;;) {
    const open = text.indexOf("{", k);
    if (open < 0 || open + 1 >= text.length) return -1;
    const c = text[open + 1];
    if (c === "{" || c === "%" || c === "#") return open;
    k = open + 1;
  }
}

/**
 * Length of `s` without its trailing Python whitespace (a loop: a `\s+$` pattern backtracks
 * quadratically on long runs of spaces).
 * @param s - text
 */
export function pyRstripEnd(s: string): number {
  let end = s.length;
  while (end > 0 && PY_SPACE_CHAR.test(s[end - 1] ?? "")) end--;
  return end;
}

function sign(c: string | undefined): TrimSign {
  return c === "-" || c === "+" ? c : "";
}

/** Records a raw block opened at `open`; returns the offset after it. */
function rawBlock(text: string, open: number, begin: RegExpExecArray, push: (r: Region) => void): number {
  let from = open + begin[0].length;
  // `{% raw -%}` strips the whitespace that follows it.
  if (begin[2] === "-") while (from < text.length && PY_SPACE_CHAR.test(text[from] ?? "")) from++;
  RAW_END.lastIndex = from;
  const m = RAW_END.exec(text);
  const stop = m === null ? text.length : m.index;
  let content = text.slice(from, stop);
  // `{%- endraw %}` strips the whitespace before it.
  if (m?.[1] === "-") content = content.slice(0, pyRstripEnd(content));
  const end = m === null ? text.length : m.index + m[0].length;
  push({ kind: "raw", start: open, end, content, ltrim: sign(begin[1]), rtrim: sign(m?.[2]) });
  return end;
}

function readLiteral(text: string, start: number): { literal: RawLiteral; end: number } {
  const quote = text[start];
  let j = start + 1;
  while (j < text.length && text[j] !== quote) {
    if (text[j] === "\\") j++;
    j++;
  }
  const raw = text.slice(start + 1, Math.min(j, text.length));
  const { value, needlessEscape, exact } = decodePythonEscapes(raw);
  return { literal: { raw, value, needlessEscape, exact, offset: start }, end: Math.min(j + 1, text.length) };
}

const SIMPLE: Readonly<Record<string, string>> = {
  "\\": "\\",
  "'": "'",
  '"': '"',
  a: "\x07",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
  v: "\v",
  "\n": "",
};

/** Character names of `\N{…}` escapes that spell identifiers. */
function namedChar(name: string): string | undefined {
  const up = name.trim().toUpperCase();
  if (up === "LOW LINE") return "_";
  if (up === "FULL STOP") return ".";
  const m = /^(?:LATIN (SMALL|CAPITAL) LETTER|DIGIT) ([A-Z]|ZERO|ONE|TWO|THREE|FOUR|FIVE|SIX|SEVEN|EIGHT|NINE)$/.exec(
    up,
  );
  if (m === null) return undefined;
  const digits = ["ZERO", "ONE", "TWO", "THREE", "FOUR", "FIVE", "SIX", "SEVEN", "EIGHT", "NINE"];
  const d = digits.indexOf(m[2] ?? "");
  if (up.startsWith("DIGIT")) return d >= 0 ? String(d) : undefined;
  const letter = m[2] ?? "";
  return m[1] === "SMALL" ? letter.toLowerCase() : letter;
}

/**
 * Python's `backslashreplace` escape of a non-ASCII code point (`\xe9`, `\u20ac`, `\U0001f600`).
 * Jinja encodes a literal's body this way before decoding its escapes, so a backslash written
 * before a non-ASCII character escapes the first character of that escape.
 */
function backslashReplace(cp: number): string {
  if (cp < 0x100) return `\\x${cp.toString(16).padStart(2, "0")}`;
  if (cp < 0x10000) return `\\u${cp.toString(16).padStart(4, "0")}`;
  return `\\U${cp.toString(16).padStart(8, "0")}`;
}

/**
 * Decodes a string literal body as Jinja does: newlines normalised to `\n`, the text encoded to
 * ASCII with `backslashreplace`, then decoded with Python's `unicode-escape`. Unknown escapes are
 * kept as written, like Python.
 * @param body - literal body, quotes excluded
 */
export function decodePythonEscapes(body: string): { value: string; needlessEscape: boolean; exact: boolean } {
  const normalised = body.replace(/\r\n?/g, "\n");
  if (!normalised.includes("\\")) return { value: normalised, needlessEscape: false, exact: true };
  // A backslash before a non-ASCII character meets the `\x`/`\u`/`\U` that character became.
  const raw = normalised.replace(/\\([^\0-\x7f])/gu, (_m, c: string) => `\\${backslashReplace(c.codePointAt(0) ?? 0)}`);
  let out = "";
  let needless = false;
  let exact = true;
  const emit = (s: string): void => {
    if (/^[\w]$/.test(s)) needless = true;
    out += s;
  };
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i] ?? "";
    if (c !== "\\" || i + 1 >= raw.length) {
      out += c;
      continue;
    }
    const e = raw[i + 1] ?? "";
    const simple = SIMPLE[e];
    if (simple !== undefined) {
      out += simple;
      i++;
      continue;
    }
    if (e >= "0" && e <= "7") {
      const m = /^[0-7]{1,3}/.exec(raw.slice(i + 1)) ?? ["0"];
      emit(String.fromCharCode(Number.parseInt(m[0], 8)));
      i += m[0].length;
      continue;
    }
    const hexLen = e === "x" ? 2 : e === "u" ? 4 : e === "U" ? 8 : 0;
    if (hexLen > 0) {
      const hex = raw.slice(i + 2, i + 2 + hexLen);
      if (hex.length === hexLen && /^[0-9a-fA-F]+$/.test(hex)) {
        const cp = Number.parseInt(hex, 16);
        emit(cp <= 0x10ffff ? String.fromCodePoint(cp) : "\ufffd");
        i += 1 + hexLen;
        continue;
      }
    }
    if (e === "N") {
      const close = raw[i + 2] === "{" ? raw.indexOf("}", i + 3) : -1;
      const ch = close > 0 ? namedChar(raw.slice(i + 3, close)) : undefined;
      if (ch !== undefined) {
        emit(ch);
        i = close;
        continue;
      }
      // Python knows every Unicode character name; a name not known here leaves the value unknown.
      exact = false;
    }
    out += c;
  }
  return { value: out, needlessEscape: needless, exact };
}
