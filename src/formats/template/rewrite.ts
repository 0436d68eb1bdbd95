/**
 * Builds the text `@huggingface/jinja`'s parser reads from the regions Jinja's lexer sees
 * ({@link scanTemplateCode}): comments and raw blocks are never searched for tags, string literals
 * are re-written in one canonical spelling whose value is the one Python decodes, and statements
 * the parser does not know become expressions that keep every sub-expression Jinja evaluates
 * (`{% autoescape EXPR %}` → `{{ EXPR }}`), so nothing Jinja runs is dropped from the analysis.
 *
 * Why: rewriting with searches over the raw text (`{% raw %}` found inside a comment or a string)
 * deleted real code; and the parser's own preprocessing (`{% generation %}` removal, its escape
 * rules) changed literal values, so the folding computed strings other than Python's.
 * @module
 */
import { type CodeScan, PY_SPACE, pyRstripEnd, type Region } from "./lexical.js";

/** The parser input and the literal values it must read back, in order. */
export interface Rewritten {
  /** Text for `@huggingface/jinja`'s tokenizer. */
  readonly text: string;
  /** Value of every string literal the text holds, in source order (raw blocks included). */
  readonly literals: readonly string[];
}

/** Callee the `with` statement's assignments are rewritten to (`{{ mg_with(a=…, b=…) }}`). */
export const MG_WITH = "mg_with";
/** Callee that stands for the template a loader statement names (`{% import EXPR as m %}`). */
export const MG_IMPORT = "mg_import";

const NAME = /^[A-Za-z_]\w*$/;
const PY_SPACE_CHAR = new RegExp(`^${PY_SPACE}$`);
const KEYWORDS_BEFORE_VALUE = new Set(["in", "not", "and", "or", "if", "else", "is", "set", "for"]);

/** One code region rendered for the parser: the code, and the same code with literal bodies masked. */
interface Code {
  readonly text: string;
  /** Same length as `text`; every character inside a literal replaced by `x`, so searches skip literals. */
  readonly masked: string;
}

/**
 * Builds the parser input.
 * @param text - the template source
 * @param scan - its regions
 * @returns undefined when the scan is incomplete (a budget stopped it)
 */
export function rewriteForParser(text: string, scan: CodeScan): Rewritten | undefined {
  if (!scan.complete) return undefined;
  const out: string[] = [];
  const literals: string[] = [];
  const codeOf = (segments: readonly (string | number)[]): Code => {
    let t = "";
    let m = "";
    for (const s of segments) {
      if (typeof s === "string") {
        // Whitespace between tokens is insignificant: runs of it become one space (see SPACE_RUN),
        // and a space parts brace/percent/hash pairs, which the parser would take for delimiters.
        const code = s.replace(SPACE_RUN, " ").replace(/[{}%#](?=[{}%#])/g, "$& ");
        t += code;
        m += code;
        continue;
      }
      const value = scan.literals[s]?.value ?? "";
      const lit = canonicalLiteral(value);
      literals.push(value);
      t += lit;
      m += `"${"x".repeat(lit.length - 2)}"`;
    }
    return emptyTuples({ text: t, masked: m });
  };
  const regions = scan.regions;
  for (let i = 0; i < regions.length; i++) {
    const r = regions[i];
    if (r === undefined) continue;
    if (r.kind === "text") {
      out.push(textFor(text.slice(r.start, r.end), regions[i - 1], regions[i + 1]));
      continue;
    }
    out.push(renderRegion(r, codeOf, literals));
  }
  return { text: out.join(""), literals };
}

/**
 * Whitespace runs the parser's preprocessing regular expression (`(\s*){%…generation…%}`) scans
 * in quadratic time: outside literals they are cut (code) or interrupted by empty comments (text),
 * inside literals escaped.
 */
const SPACE_RUN = /\s{2,}/g;
const MAX_TEXT_SPACE_RUN = 64;

/**
 * A text region as Jinja outputs it next to `-` signs (`{%- … -%}` strip the whitespace on their
 * side), the signs being applied here rather than left to the parser; long whitespace runs are
 * interrupted by empty comments, which add no text.
 */
function textFor(raw: string, before: Region | undefined, after: Region | undefined): string {
  let start = 0;
  let end = raw.length;
  if (before !== undefined && before.kind !== "text" && before.rtrim === "-") {
    while (start < end && PY_SPACE_CHAR.test(raw[start] ?? "")) start++;
  }
  if (after !== undefined && after.kind !== "text" && after.ltrim === "-")
    end = start + pyRstripEnd(raw.slice(start, end));
  return raw.slice(start, end).replace(/\s{65,}/g, (run) => {
    let out = "";
    for (let k = 0; k < run.length; k += MAX_TEXT_SPACE_RUN) out += `${run.slice(k, k + MAX_TEXT_SPACE_RUN)}{# #}`;
    return out;
  });
}

function renderRegion(r: Region, codeOf: (segments: readonly (string | number)[]) => Code, literals: string[]): string {
  switch (r.kind) {
    case "comment":
      return MARKER;
    case "raw": {
      // Inert text, kept as a literal so `{% set x %}{% raw %}…{% endraw %}{% endset %}` has its value.
      literals.push(r.content);
      return `{{ ${canonicalLiteral(r.content)} }}`;
    }
    case "expr":
      return `{{ ${codeOf(r.segments).text} }}`;
    case "stmt":
      return statement(codeOf(r.segments));
    default:
      return "";
  }
}

/** An empty comment where a tag was dropped: keeps the boundary between the texts around it. */
const MARKER = "{# #}";

/**
 * A statement for the parser. Statements it parses are passed on; those whose expressions Jinja
 * evaluates but the parser does not know become `{{ … }}` expressions; pure markers become empty
 * comments; anything else is passed on for the parser to reject (the template is then reported
 * as unparseable).
 */
function statement(code: Code): string {
  const head = /^\s*([A-Za-z_]\w*)/.exec(code.masked);
  const kw = head?.[1] ?? "";
  const restAt = head === null ? 0 : head[0].length;
  const rest = code.text.slice(restAt);
  const restMasked = code.masked.slice(restAt);
  const expr = (e: string) => (e.trim() === "" ? MARKER : `{{ ${e} }}`);
  switch (kw) {
    case "do":
    case "print":
    case "autoescape":
    case "extends":
      return expr(rest);
    case "include": {
      const tail = /\s+(?:ignore\s+missing\s*)?(?:(?:with|without)\s+context\s*)?$/.exec(restMasked);
      return expr(`${MG_IMPORT}(${tail === null ? rest : rest.slice(0, tail.index)})`);
    }
    case "import":
      return importStatement(rest, restMasked);
    case "from":
      return fromStatement(rest, restMasked);
    case "with":
      return rest.trim() === "" ? MARKER : `{{ ${MG_WITH}(${rest}) }}`;
    case "endwith":
    case "endautoescape":
    case "block":
    case "endblock":
    case "generation":
    case "endgeneration":
      return MARKER;
    case "for": {
      const recursive = /\brecursive\s*$/.exec(restMasked);
      const end = recursive === null ? rest.length : recursive.index;
      // `for x in xs if cond`: the loop filter becomes an expression in the body.
      const cond = loopFilterAt(restMasked.slice(0, end));
      if (cond < 0) return `{% for${rest.slice(0, end)} %}`;
      return `{% for${rest.slice(0, cond)} %}{{ ${MG_LOOP_FILTER}(${rest.slice(cond + 2, end)}) }}`;
    }
    default:
      return `{% ${code.text} %}`;
  }
}

/** Callee the loop filter of `{% for x in xs if cond %}` is rewritten to, in the loop body. */
export const MG_LOOP_FILTER = "mg_loop_filter";

/**
 * Offset of the `if` that starts a `for` statement's loop filter: the first `if` outside brackets
 * after `in` (Jinja parses the iterable without conditional expressions), or -1.
 */
function loopFilterAt(masked: string): number {
  const inAt = /\sin\s/.exec(masked);
  if (inAt === null) return -1;
  let depth = 0;
  for (let i = inAt.index + 3; i < masked.length; i++) {
    const c = masked[i] ?? "";
    if (c === "(" || c === "[" || c === "{") depth++;
    else if ((c === ")" || c === "]" || c === "}") && depth > 0) depth--;
    else if (depth === 0 && c === "i" && /^if\b/.test(masked.slice(i, i + 3)) && /\W/.test(masked[i - 1] ?? ""))
      return i;
  }
  return -1;
}

/** `{% import EXPR as m [with context] %}` → `{% set m = mg_import(EXPR) %}`. */
function importStatement(rest: string, masked: string): string {
  const m = /^([\s\S]*?)\s+as\s+([A-Za-z_]\w*)\s*(?:(?:with|without)\s+context\s*)?$/.exec(masked);
  if (m === null) return `{% import${rest} %}`;
  return `{% set ${m[2]} = ${MG_IMPORT}(${rest.slice(0, (m[1] ?? "").length)}) %}`;
}

/**
 * `{% from EXPR import a as b, c %}` → `{{ mg_import(EXPR) }}` and a `set` per imported name
 * (EXPR written once: its literals are read back once).
 */
function fromStatement(rest: string, masked: string): string {
  const m = /^([\s\S]*?)\s+import\s+([\s\S]*?)\s*(?:(?:with|without)\s+context\s*)?$/.exec(masked);
  if (m === null) return `{% from${rest} %}`;
  const source = rest.slice(0, (m[1] ?? "").length);
  let out = `{{ ${MG_IMPORT}(${source}) }}`;
  for (const item of (m[2] ?? "").split(",").slice(0, 256)) {
    const parts = item.trim().split(/\s+/);
    const name = parts.length === 3 && parts[1] === "as" ? parts[2] : parts.length === 1 ? parts[0] : undefined;
    if (name === undefined || !NAME.test(name)) return `{% from${rest} %}`;
    out += `{% set ${name} = ${MG_IMPORT}() %}`;
  }
  return out;
}

/**
 * A literal the parser decodes to exactly `value`: double quotes, and escapes for the backslash,
 * the quote, control characters, the delimiter characters (so no tag, and no `{% generation %}`
 * the parser's preprocessing removes, can appear inside it) and whitespace after whitespace (no
 * run for that preprocessing to scan quadratically).
 */
export function canonicalLiteral(value: string): string {
  let out = '"';
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    const ch = value[i] ?? "";
    if (ch === "\\") out += "\\\\";
    else if (ch === '"') out += '\\"';
    else if (
      c < 0x20 ||
      c === 0x7f ||
      ch === "{" ||
      ch === "}" ||
      ch === "%" ||
      ch === "#" ||
      (i > 0 && /\s/.test(ch) && /\s/.test(value[i - 1] ?? ""))
    ) {
      out += `\\u${c.toString(16).padStart(4, "0")}`;
    } else out += ch;
  }
  return `${out}"`;
}

/** `()` that is an empty tuple rather than a call becomes `[]` (the parser has no empty tuple). */
function emptyTuples(code: Code): Code {
  let text = "";
  let masked = "";
  let last = 0;
  for (const m of code.masked.matchAll(/\(\s*\)/g)) {
    if (!isEmptyTuple(code.masked, m.index)) continue;
    const pad = " ".repeat(m[0].length - 2);
    text += `${code.text.slice(last, m.index)}[${pad}]`;
    masked += `${code.masked.slice(last, m.index)}[${pad}]`;
    last = m.index + m[0].length;
  }
  return { text: text + code.text.slice(last), masked: masked + code.masked.slice(last) };
}

/** Whether the `()` at `offset` is an empty tuple rather than a call. */
function isEmptyTuple(masked: string, offset: number): boolean {
  let i = offset - 1;
  while (i >= 0 && /\s/.test(masked[i] ?? "")) i--;
  const prev = masked[i] ?? "";
  if (prev === ")" || prev === "]" || prev === '"' || prev === "'") return false;
  if (!/\w/.test(prev)) return true;
  let j = i;
  while (j >= 0 && /\w/.test(masked[j] ?? "")) j--;
  return KEYWORDS_BEFORE_VALUE.has(masked.slice(j + 1, i + 1));
}
