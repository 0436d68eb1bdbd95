/**
 * Token-level view of a Jinja template that does not depend on a parser: the code regions
 * (`{{ … }}`, `{% … %}`), their string literals decoded with Python's escape rules (as Jinja
 * decodes them), and the code text with literals blanked out.
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
  /** Character offset of the opening quote. */
  readonly offset: number;
}

/** Result of {@link scanTemplateCode}. */
export interface CodeScan {
  /** String literals in code regions, in order. */
  readonly literals: readonly RawLiteral[];
  /** Code regions joined by newlines, each literal replaced by `""`. */
  readonly code: string;
  /** Statement keywords (`include`, `import`, `set` ...) in order. */
  readonly statements: readonly string[];
}

const MAX_LITERALS = 100_000;

/**
 * Scans the code regions of a template.
 * @param text - template source
 */
export function scanTemplateCode(text: string): CodeScan {
  const literals: RawLiteral[] = [];
  const code: string[] = [];
  const statements: string[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    const open = text.indexOf("{", i);
    if (open < 0 || open + 1 >= n) break;
    const next = text[open + 1];
    if (next === "#") {
      const close = text.indexOf("#}", open + 2);
      i = close < 0 ? n : close + 2;
      continue;
    }
    if (next !== "{" && next !== "%") {
      i = open + 1;
      continue;
    }
    const closer = next === "{" ? "}}" : "%}";
    let j = open + 2;
    let piece = "";
    let segStart = j;
    while (j < n) {
      const c = text[j];
      if (c === '"' || c === "'") {
        piece += text.slice(segStart, j);
        const lit = readLiteral(text, j);
        if (literals.length < MAX_LITERALS) literals.push(lit.literal);
        piece += '""';
        j = lit.end;
        segStart = j;
        continue;
      }
      if (text.startsWith(closer, j)) break;
      j++;
    }
    piece += text.slice(segStart, Math.min(j, n));
    code.push(piece);
    if (next === "%") {
      const kw = /^[-+]?\s*([A-Za-z_]\w*)/.exec(piece)?.[1];
      if (kw !== undefined) {
        statements.push(kw);
        if (kw === "raw") {
          const end = /\{%[-+]?\s*endraw\s*[-+]?%\}/g;
          end.lastIndex = j;
          const m = end.exec(text);
          i = m === null ? n : m.index + m[0].length;
          continue;
        }
      }
    }
    i = j + 2;
  }
  return { literals, code: code.join("\n"), statements };
}

function readLiteral(text: string, start: number): { literal: RawLiteral; end: number } {
  const quote = text[start];
  let j = start + 1;
  while (j < text.length && text[j] !== quote) {
    if (text[j] === "\\") j++;
    j++;
  }
  const raw = text.slice(start + 1, Math.min(j, text.length));
  const { value, needlessEscape } = decodePythonEscapes(raw);
  return { literal: { raw, value, needlessEscape, offset: start }, end: Math.min(j + 1, text.length) };
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
 * Decodes a string literal body the way Python's `unicode-escape` does (which Jinja uses).
 * Unknown escapes are kept as written, like Python.
 * @param raw - literal body, quotes excluded
 */
export function decodePythonEscapes(raw: string): { value: string; needlessEscape: boolean } {
  if (!raw.includes("\\")) return { value: raw, needlessEscape: false };
  let out = "";
  let needless = false;
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
    if (e === "N" && raw[i + 2] === "{") {
      const close = raw.indexOf("}", i + 3);
      if (close > 0) {
        const ch = namedChar(raw.slice(i + 3, close));
        if (ch !== undefined) {
          emit(ch);
          i = close;
          continue;
        }
      }
    }
    out += c;
  }
  return { value: out, needlessEscape: needless };
}
