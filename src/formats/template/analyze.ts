/**
 * Static analysis of Jinja chat templates: parses with `@huggingface/jinja`'s parser (never
 * renders) the text {@link rewriteForParser} builds from the regions Jinja's lexer sees, folds
 * constant strings with Python's semantics (./fold.ts: concatenation, `~`, `%`/`format`, `join`,
 * `replace`, slicing, case changes, `{% set %}`/`with`/`for`/macro-parameter variables, block
 * `set` text in each whitespace mode, and names spelled as keyword names: `dict(k=…)|list|first`,
 * `|first`, `|join`, `.keys()`), follows aliases of gadget objects (subscripts of them by keys it
 * cannot evaluate are reported), and reports the sandbox-escape gadget classes of the
 * CVE-2024-34359 family. A token-level scan of the code regions runs on every template and its
 * findings are merged, so code the parser's view misses is still reported; a template the parser
 * rejects, or whose string literals it reads differently from Jinja, is reported as unparseable.
 * @module
 */

import { parse, tokenize } from "@huggingface/jinja";
import { pushAll } from "../../core/arrays.js";
import { type Evidence, FindingList } from "../../core/findings.js";
import { preview } from "../../core/preview.js";
import type { Severity } from "../../core/severity.js";
import {
  applyFilter,
  applyMethod,
  type CallArgs,
  type Const,
  dictGet,
  dictSet,
  isDict,
  isSelected,
  kindOf,
  MAX_RANGE,
  MAX_VALUE_LENGTH,
  mapFilter,
  pyIndex,
  pyIter,
  pyPercent,
  pySlice,
  pyStr,
  seq,
} from "./fold.js";
import { scanTemplateCode } from "./lexical.js";
import {
  ATTRIBUTE_PARAMS,
  DUNDER,
  ESCAPE_DUNDERS,
  EXEC_CALLS,
  EXEC_MODULES,
  escapeDunderIn,
  execNameOf,
  FRAME_ATTRIBUTES,
  GADGETS,
  GADGETS_ATTR_ONLY,
  GADGETS_LOW,
  JINJA_FILTERS,
  JINJA_TESTS,
  WEAK_EXEC_CALLS,
} from "./names.js";
import { MG_WITH, type Rewritten, rewriteForParser } from "./rewrite.js";

/** Rule ids the template analysis reports. */
export type TemplateRuleId =
  | "template/dunder-access"
  | "template/obfuscated-name"
  | "template/dunder-string"
  | "template/private-attribute"
  | "template/dynamic-attribute"
  | "template/gadget-reference"
  | "template/code-execution-name"
  | "template/external-template"
  | "template/unparseable";

/** One finding of the template analysis. */
export interface TemplateFinding {
  /** Rule. */
  readonly ruleId: TemplateRuleId;
  /** What was found. */
  readonly message: string;
  /** Name and construct. */
  readonly evidence: Evidence;
  /** Severity when it differs from the rule default. */
  readonly severity?: Severity;
}

/** Result of {@link analyzeTemplate}. */
export interface TemplateAnalysis {
  /** Findings, deduplicated, most severe rules first in order of discovery. */
  readonly findings: readonly TemplateFinding[];
  /** Whether the parser built a syntax tree (structural checks ran). */
  readonly parsed: boolean;
}

/** Budgets of {@link analyzeTemplate}. */
export interface TemplateOptions {
  /** Longest template analysed structurally, in characters (default 1 Mi). */
  maxLength?: number;
  /**
   * Most characters inside `{{ }}`/`{% %}` analysed structurally (default 256 Ki). The parser
   * costs a few seconds per MiB of dense code; beyond this the token-level scan runs alone.
   */
  maxCodeLength?: number;
  /** Maximum syntax-tree nodes visited (default 1,000,000). */
  maxNodes?: number;
  /** Maximum nesting of brackets and block statements before parsing (default 200). */
  maxNesting?: number;
  /** Called periodically; may throw to stop. */
  checkpoint?: (() => void) | undefined;
  /**
   * Values the renderer passes as template variables, known from the same config (transformers
   * passes a tokenizer's special tokens: `bos_token`, `eos_token`, any `*_token`): a template's
   * subscript, `attr()` or format by such a variable is checked with the value.
   */
  variables?: ReadonlyMap<string, string> | undefined;
}

/** Findings kept per rule (and severity); the rest are counted in one more finding. */
const MAX_FINDINGS_PER_RULE = 20;
const MAX_VALUES = 16;
const MAX_EVAL_DEPTH = 48;
/** Template variables transformers fills from the tokenizer config (`bos_token`, any `*_token`). */
const SPECIAL_TOKEN = /_token$|^additional_special_tokens$/;

/** Globals the renderer provides whose attributes lead to Python internals (function or context objects). */
const CHAIN_ROOTS: ReadonlySet<string> = new Set([...GADGETS, "loop", "caller", "raise_exception", "strftime_now"]);
/**
 * Jinja's own globals (every render has them): never taken for a template's local name, since the
 * analysis does not follow Jinja's scopes (a `with`, a macro parameter or a dead branch binding
 * `lipsum` leaves the global in place elsewhere).
 */
const SCOPED_GLOBALS: ReadonlySet<string> = new Set([
  "lipsum",
  "cycler",
  "joiner",
  "namespace",
  "self",
  "range",
  "dict",
]);
/** Gadget callables whose call returns an object that still exposes `__class__` (`ns['__class__']`). */
const INSTANCE_GADGETS: ReadonlySet<string> = new Set(["namespace", "cycler", "joiner"]);
/** Where a subscripted object comes from: a gadget itself (or a chain from one), or an instance of one. */
interface Root {
  readonly name: string;
  readonly kind: "gadget" | "instance";
}
/** A possible value and whether it was built by an operation rather than written as is. */
interface Val {
  readonly v: Const;
  readonly built: boolean;
}

/** Minimal view of the `@huggingface/jinja` syntax tree (its classes are not exported as types we can narrow). */
interface Node {
  readonly type: string;
  readonly [key: string]: unknown;
}

function isNode(x: unknown): x is Node {
  return typeof x === "object" && x !== null && typeof (x as { type?: unknown }).type === "string";
}

function prop(n: Node, key: string): Node | undefined {
  const v = n[key];
  return isNode(v) ? v : undefined;
}

function nodes(n: Node, key: string): Node[] {
  const v = n[key];
  return Array.isArray(v) ? v.filter(isNode) : [];
}

/** Node types of literals. */
const LITERAL_TYPES: ReadonlySet<string> = new Set([
  "StringLiteral",
  "ArrayLiteral",
  "TupleLiteral",
  "ObjectLiteral",
  "IntegerLiteral",
  "FloatLiteral",
]);

/** Whether a subscript key is a number (a literal or arithmetic on numbers), not a name. */
function isNumericKey(n: Node): boolean {
  if (n.type === "IntegerLiteral" || n.type === "FloatLiteral") return true;
  if (n.type === "UnaryExpression") {
    const a = prop(n, "argument");
    return a !== undefined && isNumericKey(a);
  }
  return false;
}

function identName(n: Node | undefined): string | undefined {
  return n?.type === "Identifier" && typeof n.value === "string" ? n.value : undefined;
}

class Findings {
  /** Each name once per rule; at most {@link MAX_FINDINGS_PER_RULE} per rule, the rest counted. */
  readonly #list = new FindingList<TemplateFinding>(MAX_FINDINGS_PER_RULE);
  readonly #seen = new Set<string>();

  add(ruleId: TemplateRuleId, name: string, via: string, message: string, severity?: Severity): void {
    const key = `${ruleId}\0${name}`;
    if (this.#seen.has(key)) return;
    const evidence: Evidence = { name: preview(name, 80), via };
    const kept = this.#list.kept.length;
    this.#list.add(severity === undefined ? { ruleId, message, evidence } : { ruleId, message, evidence, severity });
    if (this.#list.kept.length > kept) this.#seen.add(key);
  }

  has(ruleId: TemplateRuleId, name: string): boolean {
    return this.#list.kept.some((f) => f.ruleId === ruleId && f.evidence.name === preview(name, 80));
  }

  /** The findings kept, then one summary per rule that went over the cap. */
  get list(): TemplateFinding[] {
    return this.#list.list();
  }
}

/**
 * Analyses a Jinja template without rendering it.
 * @param text - the template source
 * @param options - budgets
 */
export function analyzeTemplate(text: string, options: TemplateOptions = {}): TemplateAnalysis {
  const maxLength = options.maxLength ?? 1024 * 1024;
  const maxCode = options.maxCodeLength ?? 256 * 1024;
  const findings = new Findings();
  // Jinja's lexer first turns every `\r\n` and `\r` into `\n` (template text and literals alike).
  const source = (text.length > maxLength ? text.slice(0, maxLength) : text).replace(/\r\n?/g, "\n");
  const lexical = scanTemplateCode(source);
  options.checkpoint?.();

  // Escapes and external templates, from the raw text (Python decodes escapes our parser may not).
  for (const lit of lexical.literals) {
    if (!lit.needlessEscape) continue;
    const name = escapeDunderIn(lit.value) ?? execNameOf(lit.value);
    if (name !== undefined) {
      findings.add("template/obfuscated-name", name, "string escapes", `string escapes spell "${name}"`);
    }
  }
  for (const kw of lexical.statements) {
    if (kw === "include" || kw === "import" || kw === "extends" || kw === "from") {
      findings.add("template/external-template", kw, "statement", `{% ${kw} %} loads another template`);
    }
  }
  fragmentWindows(
    lexical.literals.map((l) => l.value),
    findings,
  );

  let parsed = false;
  let locals: ReadonlySet<string> | undefined;
  const rewritten =
    text.length > maxLength || lexical.code.length > maxCode ? undefined : rewriteForParser(source, lexical);
  if (rewritten === undefined) {
    findings.add(
      "template/unparseable",
      "size",
      "budget",
      text.length > maxLength
        ? `template of ${text.length} characters exceeds the ${maxLength}-character analysis budget`
        : lexical.code.length > maxCode
          ? `template holds ${lexical.code.length} characters of code, over the ${maxCode}-character analysis budget`
          : "template has more literals or tags than the analysis budget",
    );
  } else {
    const inexact = lexical.literals.find((l) => !l.exact);
    if (inexact !== undefined) {
      findings.add(
        "template/unparseable",
        "escape",
        "string escape",
        `string literal "${preview(inexact.raw, 60)}" holds an escape whose value the analysis does not know`,
      );
    }
    const outcome = parseTemplate(rewritten, options.maxNesting ?? 200);
    if (outcome.program === undefined) {
      findings.add("template/unparseable", "parser", outcome.reason, `template could not be parsed: ${outcome.error}`);
    } else {
      if (outcome.error !== undefined) findings.add("template/unparseable", "literal", outcome.reason, outcome.error);
      const tree = new TreeAnalysis(findings, options);
      parsed = tree.run(outcome.program);
      locals = tree.locals;
    }
  }
  // The token-level scan runs on every template: what it sees in code regions is reported even
  // where the parser's view of the template differs from Jinja's.
  lexicalScan(lexical.code, findings, parsed ? locals : undefined);

  // Dunder names held in strings that no access explained.
  for (const lit of lexical.literals) {
    const name = escapeDunderIn(lit.value);
    if (name === undefined) continue;
    if (findings.has("template/dunder-access", name) || findings.has("template/obfuscated-name", name)) continue;
    findings.add("template/dunder-string", name, "string literal", `string literal holds "${name}"`);
  }
  return { findings: sortFindings(findings.list), parsed };
}

/**
 * The values the analysis folds an expression to, as Python's `str()` of each (for tests that
 * compare the folding with Jinja). Undefined when the value is unknown.
 * @param expression - a Jinja expression
 */
export function foldExpression(expression: string): string[] | undefined {
  const text = `{{ ${expression} }}`;
  const rewritten = rewriteForParser(text, scanTemplateCode(text));
  const outcome = rewritten === undefined ? undefined : parseTemplate(rewritten, 200);
  const program = outcome?.error === undefined ? outcome?.program : undefined;
  const node = program === undefined ? undefined : nodes(program, "body")[0];
  if (program === undefined || node === undefined) return undefined;
  const tree = new TreeAnalysis(new Findings(), {});
  if (!tree.run(program)) return undefined;
  const strs = tree.valuesOf(node)?.map((v) => pyStr(v));
  return strs === undefined || strs.some((x) => x === undefined) ? undefined : (strs as string[]);
}

const RULE_ORDER: readonly TemplateRuleId[] = [
  "template/dunder-access",
  "template/obfuscated-name",
  "template/code-execution-name",
  "template/dunder-string",
  "template/private-attribute",
  "template/gadget-reference",
  "template/dynamic-attribute",
  "template/external-template",
  "template/unparseable",
];

function sortFindings(list: readonly TemplateFinding[]): TemplateFinding[] {
  return [...list].sort((a, b) => RULE_ORDER.indexOf(a.ruleId) - RULE_ORDER.indexOf(b.ruleId));
}

/** Consecutive literals that together spell an escape dunder none of them holds alone. */
function fragmentWindows(values: readonly string[], findings: Findings): void {
  const frags = values.slice(0, 5_000).filter((v) => v.length > 0 && v.length <= 64);
  for (let i = 0; i < frags.length; i++) {
    let joined = "";
    for (let k = i; k < Math.min(frags.length, i + 32) && joined.length < 160; k++) {
      joined += frags[k];
      if (k === i || !joined.includes("__")) continue;
      for (const candidate of [joined, [...joined].reverse().join("")]) {
        const name = escapeDunderIn(candidate);
        if (name !== undefined && !frags.slice(i, k + 1).some((f) => f.includes(name))) {
          findings.add("template/obfuscated-name", name, "string fragments", `string fragments combine into "${name}"`);
        }
      }
    }
  }
}

interface ParseOutcome {
  program?: Node;
  /** Why parsing failed; with a program, why the tree is not what Jinja reads. */
  error?: string;
  reason: string;
}

function parseTemplate(rewritten: Rewritten, maxNesting: number): ParseOutcome {
  try {
    const tokens = tokenize(rewritten.text);
    let depth = 0;
    let maxDepth = 0;
    const literals: string[] = [];
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i];
      if (t === undefined) continue;
      if (t.type === "StringLiteral") literals.push(t.value);
      if (t.type === "OpenParen" || t.type === "OpenSquareBracket" || t.type === "OpenCurlyBracket") depth++;
      else if (t.type === "CloseParen" || t.type === "CloseSquareBracket" || t.type === "CloseCurlyBracket") depth--;
      else if (t.type === "UnaryOperator") depth++;
      else if (t.type === "OpenStatement") {
        const kw = tokens[i + 1]?.value ?? "";
        if (/^(?:if|for|macro|call|filter)$/.test(kw)) depth++;
        else if (/^end(?:if|for|macro|call|filter)$/.test(kw)) depth--;
      }
      if (depth > maxDepth) maxDepth = depth;
      if (maxDepth > maxNesting) {
        return { error: `nesting deeper than ${maxNesting}`, reason: "budget" };
      }
    }
    const program = parse(tokens) as unknown as Node;
    const differs = literalMismatch(literals, rewritten.literals);
    return differs === undefined ? { program, reason: "ok" } : { program, error: differs, reason: "literal" };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { error: preview(message, 160), reason: error instanceof RangeError ? "budget" : "syntax" };
  }
}

/**
 * Where the parser's string literals differ from the values Python decodes (the analysis would
 * fold strings Jinja never computes), or undefined when every one matches.
 */
function literalMismatch(parsed: readonly string[], python: readonly string[]): string | undefined {
  if (parsed.length !== python.length) {
    return `the parser reads ${parsed.length} string literals where Jinja reads ${python.length}`;
  }
  for (let i = 0; i < parsed.length; i++) {
    if (parsed[i] !== python[i]) {
      return `the parser reads string literal ${i + 1} as "${preview(parsed[i] ?? "", 40)}" where Jinja reads "${preview(python[i] ?? "", 40)}"`;
    }
  }
  return undefined;
}

/**
 * Identifier-level checks over code with literals blanked out. On a template that did not parse
 * all of them run; on one that did, `locals` (names the template binds) are not taken for
 * globals, and the checks the tree analysis answers better (attribute filters) are left to it.
 */
function lexicalScan(code: string, findings: Findings, locals?: ReadonlySet<string>): void {
  const global = (name: string) => locals === undefined || !locals.has(name);
  for (const m of code.matchAll(/(\.\s*)?\b(__\w+__)/g)) {
    const name = m[2] ?? "";
    findings.add(
      "template/dunder-access",
      name,
      m[1] === undefined ? "name (token scan)" : "attribute (token scan)",
      `template refers to "${name}"`,
    );
  }
  for (const m of code.matchAll(/\.\s*(_(?!_\w+__\b)\w*)/g)) {
    const name = m[1] ?? "";
    findings.add(
      "template/private-attribute",
      name,
      "attribute (token scan)",
      `template reads private attribute "${name}"`,
    );
  }
  for (const m of code.matchAll(
    /(?<![.\w])(lipsum|cycler|joiner|self|request|config|url_for|get_flashed_messages)\b(?!\s*=(?!=))/g,
  )) {
    const name = m[1] ?? "";
    if (!global(name)) continue;
    findings.add(
      "template/gadget-reference",
      name,
      "global (token scan)",
      `template uses "${name}"`,
      GADGETS_LOW.has(name) ? "low" : undefined,
    );
  }
  for (const m of code.matchAll(/\.\s*([A-Za-z_]\w*)\s*(\()?/g)) {
    const name = m[1] ?? "";
    const called = m[2] !== undefined;
    if (
      EXEC_MODULES.has(name) ||
      FRAME_ATTRIBUTES.has(name) ||
      (called && EXEC_CALLS.has(name) && !WEAK_EXEC_CALLS.has(name))
    ) {
      findings.add("template/code-execution-name", name, "attribute (token scan)", `template uses "${name}"`);
    }
  }
  for (const m of code.matchAll(/(?<![.\w])(eval|exec|__import__|getattr|compile|globals|locals|vars|setattr)\s*\(/g)) {
    const name = m[1] ?? "";
    if (!global(name)) continue;
    findings.add("template/code-execution-name", name, "call (token scan)", `template calls "${name}"`);
  }
  // `{% set c = namespace %}`, `{% with c = cycler %}`: a gadget callable kept without a call.
  for (const m of code.matchAll(/(?:=|,|\(|\[)\s*(namespace|cycler|joiner|range|dict)\b(?![ \t]*[(.])(?!\s*=(?!=))/g)) {
    const name = m[1] ?? "";
    if (!global(name)) continue;
    findings.add(
      "template/gadget-reference",
      name,
      "global used without a call (token scan)",
      `template uses the global "${name}" as a value without calling it`,
    );
  }
  if (locals === undefined && /\battr\s*\(|\battribute\s*=/.test(code)) {
    findings.add(
      "template/dynamic-attribute",
      "attr",
      "filter (token scan)",
      "attribute filter whose argument was not resolved",
    );
  }
}

class TreeAnalysis {
  readonly #findings: Findings;
  readonly #maxNodes: number;
  readonly #checkpoint: (() => void) | undefined;
  readonly #variables: ReadonlyMap<string, string>;
  readonly #env = new Map<string, Node[]>();
  readonly #local = new Set<string>();
  readonly #cache = new Map<Node, Val[] | undefined>();
  readonly #inProgress = new Set<Node | string>();
  /** Macro name → its parameter names, in order. */
  readonly #macros = new Map<string, string[]>();
  /** Calls by a bare name (macro calls bind their arguments to the parameters). */
  readonly #calls: Node[] = [];
  readonly #roots = new Map<Node, Root | undefined>();
  #aliases: ReadonlyMap<string, Root> | undefined;
  readonly #constants = new Map<Node, boolean>();
  readonly #constantsInProgress = new Set<Node | string>();
  #visited = 0;

  constructor(findings: Findings, options: TemplateOptions) {
    this.#findings = findings;
    this.#maxNodes = options.maxNodes ?? 1_000_000;
    this.#checkpoint = options.checkpoint;
    this.#variables = options.variables ?? new Map();
  }

  /** The constant values of an expression, undefined when unknown. */
  valuesOf(n: Node): Const[] | undefined {
    return this.#eval(n)?.map((v) => v.v);
  }

  /** Names the template binds (set, for, with, macro names and parameters, imports). */
  get locals(): ReadonlySet<string> {
    return this.#local;
  }

  /** Returns false when the node budget stopped the walk. */
  run(program: Node): boolean {
    if (!this.#walk(program, (n) => this.#collectBindings(n))) return this.#overBudget();
    this.#bindMacroArguments();
    this.#visited = 0;
    if (!this.#walk(program, (n, role) => this.#inspect(n, role))) return this.#overBudget();
    return true;
  }

  #overBudget(): boolean {
    this.#findings.add("template/unparseable", "nodes", "budget", `template has more than ${this.#maxNodes} nodes`);
    return false;
  }

  /** Iterative walk over every node; `role` says how the parent uses the child. */
  #walk(root: Node, visit: (n: Node, role: string) => void): boolean {
    const stack: [Node, string][] = [[root, "stmt"]];
    while (stack.length > 0) {
      const item = stack.pop();
      if (item === undefined) break;
      const [n, role] = item;
      if (++this.#visited > this.#maxNodes) return false;
      if ((this.#visited & 0x3fff) === 0) this.#checkpoint?.();
      visit(n, role);
      for (const [key, value] of Object.entries(n)) {
        const childRole = roleOf(n, key, role);
        if (Array.isArray(value)) {
          for (const v of value) if (isNode(v)) stack.push([v, childRole]);
        } else if (value instanceof Map) {
          for (const [k, v] of value) {
            if (isNode(k)) stack.push([k, "ref"]);
            if (isNode(v)) stack.push([v, "ref"]);
          }
        } else if (isNode(value)) {
          stack.push([value, childRole]);
        }
      }
    }
    return true;
  }

  #bind(name: string, value?: Node): void {
    // Jinja's own globals stay globals to the analysis wherever a template binds them: a binding in
    // a scope (`with`, a macro parameter, a loop, a dead branch) ends, and the global is back
    if (!SCOPED_GLOBALS.has(name)) this.#local.add(name);
    if (value === undefined) return;
    const list = this.#env.get(name) ?? [];
    if (list.length < MAX_VALUES) list.push(value);
    else list[MAX_VALUES - 1] = { type: "MgUnknown" }; // too many values: unknown
    this.#env.set(name, list);
  }

  #collectBindings(n: Node): void {
    switch (n.type) {
      case "Set": {
        const assignee = prop(n, "assignee");
        const value = prop(n, "value");
        const name = identName(assignee);
        if (name !== undefined) {
          // `{% set x %}…{% endset %}` binds the block's output.
          const body = nodes(n, "body");
          this.#bind(name, value ?? (body.length > 0 ? { type: MG_CONCAT, parts: body } : undefined));
        } else if (assignee?.type === "TupleLiteral") {
          const targets = nodes(assignee, "value");
          const values = value?.type === "TupleLiteral" || value?.type === "ArrayLiteral" ? nodes(value, "value") : [];
          targets.forEach((el, i) => {
            const target = identName(el);
            if (target !== undefined) this.#bind(target, values.length === targets.length ? values[i] : undefined);
          });
        }
        break;
      }
      case "For": {
        const loopvar = prop(n, "loopvar");
        const iterable = prop(n, "iterable");
        const name = identName(loopvar);
        if (name !== undefined) {
          const elements =
            iterable?.type === "ArrayLiteral" || iterable?.type === "TupleLiteral"
              ? nodes(iterable, "value")
              : undefined;
          this.#bind(name);
          if (elements !== undefined) for (const el of elements) this.#bind(name, el);
          else if (iterable !== undefined) this.#bind(name, { type: MG_ELEMENTS, iterable });
        } else if (loopvar?.type === "TupleLiteral") {
          for (const el of nodes(loopvar, "value")) this.#bindName(el);
        }
        break;
      }
      case "Macro": {
        const macro = identName(prop(n, "name"));
        this.#bindName(prop(n, "name"));
        const params: string[] = [];
        for (const a of nodes(n, "args")) {
          const keyword = a.type === "KeywordArgumentExpression";
          const param = identName(keyword ? prop(a, "key") : a);
          if (param === undefined) continue;
          params.push(param);
          this.#bind(param, keyword ? prop(a, "value") : undefined);
        }
        if (macro !== undefined) this.#macros.set(macro, params);
        break;
      }
      case "CallExpression": {
        const callee = identName(prop(n, "callee"));
        if (callee === MG_WITH) {
          for (const a of nodes(n, "args")) {
            const key = identName(prop(a, "key"));
            if (a.type === "KeywordArgumentExpression" && key !== undefined) this.#bind(key, prop(a, "value"));
          }
        } else if (callee !== undefined && this.#calls.length < 10_000) {
          this.#calls.push(n);
        }
        break;
      }
      case "CallStatement":
        for (const a of nodes(n, "callerArgs"))
          this.#bindName(a.type === "KeywordArgumentExpression" ? prop(a, "key") : a);
        break;
      default:
        break;
    }
  }

  /** Binds each macro call's arguments to the macro's parameters (`m(namespace)` makes `c` an alias). */
  #bindMacroArguments(): void {
    for (const call of this.#calls) {
      const params = this.#macros.get(identName(prop(call, "callee")) ?? "");
      if (params === undefined) continue;
      let i = 0;
      for (const a of nodes(call, "args")) {
        if (a.type === "KeywordArgumentExpression") {
          const key = identName(prop(a, "key"));
          const value = prop(a, "value");
          if (key !== undefined && params.includes(key) && value !== undefined) this.#bind(key, value);
        } else {
          const param = params[i++];
          if (param !== undefined) this.#bind(param, a);
        }
      }
    }
  }

  #bindName(n: Node | undefined): void {
    const name = identName(n);
    if (name !== undefined) this.#bind(name);
  }

  #inspect(n: Node, role: string): void {
    switch (n.type) {
      case "Identifier":
        this.#identifier(n, role);
        break;
      case "MemberExpression":
        this.#member(n);
        this.#checkBuilt(n);
        break;
      case "CallExpression":
        this.#call(n);
        this.#checkBuilt(n);
        break;
      case "FilterExpression":
        this.#filter(n);
        this.#checkBuilt(n);
        break;
      case "FilterStatement":
        this.#filter(n);
        break;
      case "KeywordArgumentExpression": {
        const key = identName(prop(n, "key"));
        if (key !== undefined && DUNDER.test(key)) {
          this.#findings.add(
            "template/obfuscated-name",
            key,
            "keyword name",
            `keyword argument named "${key}" (dict(${key}=…)|list spells the name)`,
          );
        }
        break;
      }
      case "StringLiteral":
        if (role !== "text") this.#checkBuilt(n);
        break;
      case "BinaryExpression":
        this.#checkBuilt(n);
        break;
      default:
        break;
    }
  }

  #identifier(n: Node, role: string): void {
    const name = identName(n);
    if (name === undefined) return;
    if (role === "property" || role === "kwkey" || role === "binding" || role === "test") return;
    if (role === "filterslot" || role === "filtername") return;
    if (DUNDER.test(name)) {
      this.#findings.add("template/dunder-access", name, "global name", `template refers to "${name}"`);
      return;
    }
    if (this.#local.has(name)) return;
    const asObject = role === "object";
    const called = role === "callee";
    if (GADGETS.has(name)) {
      if (GADGETS_ATTR_ONLY.has(name) && called) return;
      if (!asObject && !called && (GADGETS_ATTR_ONLY.has(name) || GADGETS_LOW.has(name))) {
        // `{% set c = namespace %}`: the callable itself, kept for a later attribute or subscript.
        this.#findings.add(
          "template/gadget-reference",
          name,
          "global used without a call",
          `template uses the global "${name}" as a value without calling it (an alias reaches its attributes)`,
        );
        return;
      }
      const low = GADGETS_LOW.has(name) && called;
      this.#findings.add(
        "template/gadget-reference",
        name,
        asObject ? "attribute of global" : "global",
        asObject ? `template takes an attribute of the global "${name}"` : `template uses the global "${name}"`,
        low ? "low" : undefined,
      );
    } else if (asObject && EXEC_MODULES.has(name)) {
      this.#findings.add("template/code-execution-name", name, "module name", `template uses "${name}" as an object`);
    }
  }

  #member(n: Node): void {
    const property = prop(n, "property");
    if (property === undefined) return;
    if (n.computed === true) {
      if (property.type === "SliceExpression") return;
      const vals = this.#eval(property);
      const variable = identName(property);
      const token = variable !== undefined && !this.#local.has(variable) && SPECIAL_TOKEN.test(variable);
      if (vals === undefined) {
        const object = prop(n, "object");
        const root = object === undefined ? undefined : this.#rootOf(object);
        if (root !== undefined) this.#reportDynamicOnRoot(root, "subscript");
        else if (object !== undefined && LITERAL_TYPES.has(object.type) && !isNumericKey(property)) {
          // `""[k]`, `[][k]`, `{}[k]` by a name: attributes of a literal (its `__class__` ...), where
          // class-hierarchy escapes start; a legitimate template indexes literals by numbers only
          this.#findings.add(
            "template/dynamic-attribute",
            "literal[…]",
            "subscript of a literal",
            "template subscripts a literal by a name computed at render time (Jinja falls back to its attributes)",
            "high",
          );
        } else if (this.#constantDerived(property) || this.#buildsName(property, 0)) {
          // A key built from constants only (no template variable) that the folding could not
          // evaluate: Jinja's subscript falls back to getattr, so `''[k]` reaches `__class__`.
          this.#findings.add(
            "template/dynamic-attribute",
            "constant key",
            "subscript by a computed constant",
            "template subscripts by a name computed from constants with operations the analysis does not evaluate",
          );
        }
        // `x[bos_token]`: the key is a special token, a value the tokenizer config chooses.
        if (token) {
          this.#findings.add(
            "template/dynamic-attribute",
            variable,
            "subscript by special token",
            `template subscripts by "${variable}", a value taken from the tokenizer config`,
          );
        }
        return;
      }
      const via = token ? `subscript by ${variable}` : "subscript";
      for (const v of vals) {
        if (typeof v.v !== "string") continue;
        this.#checkName(v.v, via, v.built);
        // A key the config chooses that names a code-execution function (`x[cls_token]` = "popen").
        const exec = token ? execNameOf(v.v) : undefined;
        if (exec !== undefined) {
          this.#findings.add("template/code-execution-name", exec, via, `template accesses "${exec}" (${via})`);
        }
      }
      return;
    }
    const name = identName(property);
    if (name !== undefined) this.#checkName(name, "attribute", false);
  }

  #call(n: Node): void {
    const callee = prop(n, "callee");
    const bare = identName(callee);
    if (bare !== undefined) {
      if (EXEC_CALLS.has(bare) && !WEAK_EXEC_CALLS.has(bare) && !this.#local.has(bare)) {
        this.#findings.add("template/code-execution-name", bare, "call", `template calls "${bare}"`);
      }
      return;
    }
    if (callee?.type !== "MemberExpression" || callee.computed === true) return;
    const method = identName(prop(callee, "property"));
    if (method === undefined) return;
    if (EXEC_CALLS.has(method) && !WEAK_EXEC_CALLS.has(method)) {
      this.#findings.add("template/code-execution-name", method, "method call", `template calls ".${method}(…)"`);
    }
    if (method === "format" || method === "format_map") {
      const fmt = prop(callee, "object");
      const vals = fmt === undefined ? undefined : this.#eval(fmt);
      for (const v of vals ?? []) {
        if (typeof v.v !== "string") continue;
        for (const m of v.v.matchAll(/\{[^{}!:]*?[.[]([^{}.[\]!:]+)/g)) {
          this.#checkName(m[1] ?? "", "str.format field", v.built);
        }
      }
    }
  }

  #filter(n: Node): void {
    const filter = prop(n, "filter");
    if (filter === undefined) return;
    const name = identName(filter) ?? identName(prop(filter, "callee"));
    if (name === undefined || filter.type !== "CallExpression") return;
    const args = nodes(filter, "args");
    const positional = args.filter((a) => a.type !== "KeywordArgumentExpression");
    const keyword = new Map<string, Node>();
    for (const a of args) {
      const key = a.type === "KeywordArgumentExpression" ? identName(prop(a, "key")) : undefined;
      const value = key === undefined ? undefined : prop(a, "value");
      if (key !== undefined && value !== undefined) keyword.set(key, value);
    }
    const operand = prop(n, "operand");
    const root = operand === undefined ? undefined : this.#rootOf(operand);
    this.#filterAttributes(name, positional, keyword, name, 0, root);
  }

  /**
   * Judges the attribute names a filter call hands to getattr: the argument {@link ATTRIBUTE_PARAMS}
   * names, and through `map`/`select`/`reject`, which call another filter (test) by name with the
   * remaining arguments, that filter's. A dispatched name that does not fold to a known builtin
   * could be `attr` or any filter: every remaining argument is judged as a dotted attribute path.
   */
  #filterAttributes(
    name: string,
    positional: readonly Node[],
    keyword: ReadonlyMap<string, Node>,
    via: string,
    depth: number,
    root: Root | undefined,
  ): void {
    if (depth > 8) return;
    const dispatch = name === "map" || name === "select" || name === "reject";
    const target = dispatch ? positional[0] : undefined;
    if (target === undefined) {
      const param = ATTRIBUTE_PARAMS.get(name);
      if (param === undefined) return;
      const byIndex = param.index === undefined ? undefined : positional[param.index];
      const byKeyword = param.keyword === undefined ? undefined : keyword.get(param.keyword);
      const label = name === "attr" ? "attr() filter" : `${via}() attribute`;
      this.#attributeArgument(byIndex ?? byKeyword, label, param.dotted, root, via);
      return;
    }
    const rest = positional.slice(1);
    const known = name === "map" ? JINJA_FILTERS : JINJA_TESTS;
    const names = this.#eval(target);
    const unknown = names === undefined || names.some((v) => typeof v.v !== "string" || !known.has(v.v));
    if (unknown) {
      const label = `${via}(<filter>, …)`;
      for (const a of rest) this.#attributeArgument(a, label, true, root, `${via}(<filter>)`);
      for (const a of keyword.values()) this.#attributeArgument(a, label, true, root, `${via}(<filter>)`);
    }
    if (name !== "map") return;
    for (const v of names ?? []) {
      if (typeof v.v === "string" && JINJA_FILTERS.has(v.v)) {
        this.#filterAttributes(v.v, rest, keyword, `${via}("${v.v}")`, depth + 1, root);
      }
    }
  }

  /**
   * Whether a key expression builds a string: a string literal joined (`~`, `+`) or passed through a
   * filter or call with anything else, variables followed to what they are bound to. Such a key is
   * a name assembled at render time (a template indexes by a variable or a literal, not by text it
   * builds), even when part of it comes from a template variable.
   */
  #buildsName(n: Node, depth: number): boolean {
    let built = false;
    const seen = new Set<string>();
    // whether `x` is text: a string literal, template text (a macro's or `caller()`'s output, a
    // block `set`), the `str()` of a renderer function, or one of these passed through `~`/`+`, a
    // filter, a method or an index/slice (which is what "built" records); attribute reads and items
    // of data are data, not text built here
    const text = (x: Node, d: number): boolean => {
      if (d > 48) return false;
      switch (x.type) {
        case "StringLiteral":
          return true;
        case MG_CONCAT:
          built = true;
          return true;
        case "MemberExpression": {
          const object = prop(x, "object");
          const t = x.computed === true && object !== undefined && text(object, d + 1);
          if (t) built = true;
          return t;
        }
        case "BinaryExpression": {
          const left = prop(x, "left");
          const right = prop(x, "right");
          const t = (left !== undefined && text(left, d + 1)) || (right !== undefined && text(right, d + 1));
          if (t) built = true;
          return t;
        }
        case "FilterExpression": {
          const operand = prop(x, "operand");
          const global = identName(operand);
          // `raise_exception|string`: the text of a function object ("<function …__init__…>").
          const fn = global !== undefined && !this.#local.has(global) && CHAIN_ROOTS.has(global);
          const t = operand !== undefined && (fn || text(operand, d + 1));
          if (t) built = true;
          return t;
        }
        case "CallExpression": {
          const callee = prop(x, "callee");
          const bare = identName(callee);
          // A macro's or the call block's output: template text the folding does not follow.
          const macroText =
            bare !== undefined && (this.#macros.has(bare) || (bare === "caller" && !this.#local.has(bare)));
          const object = callee?.type === "MemberExpression" ? prop(callee, "object") : undefined;
          const t = macroText || (object !== undefined && text(object, d + 1));
          if (t) built = true;
          return t;
        }
        case "Identifier": {
          const name = identName(x) ?? "";
          if (!this.#local.has(name) || seen.has(name)) return false;
          seen.add(name);
          return (this.#env.get(name) ?? []).slice(0, 16).some((b) => text(b, d + 1));
        }
        default:
          return false;
      }
    };
    return text(n, depth) && built;
  }

  /**
   * Whether an expression depends on constants only: literals, keyword names, `dict`/`range`/
   * `lipsum` calls, and variables bound only to such expressions (no template variable such as
   * `messages`, no loop over one).
   */
  #constantDerived(n: Node, depth = 0): boolean {
    const cached = this.#constants.get(n);
    if (cached !== undefined) return cached;
    if (depth > MAX_EVAL_DEPTH || this.#constantsInProgress.has(n)) return false;
    this.#constantsInProgress.add(n);
    let result = false;
    try {
      result = this.#constantDerivedUncached(n, depth + 1);
    } finally {
      this.#constantsInProgress.delete(n);
    }
    this.#constants.set(n, result);
    return result;
  }

  #constantDerivedUncached(n: Node, depth: number): boolean {
    const all = (list: readonly (Node | undefined)[]) =>
      list.every((c) => c !== undefined && this.#constantDerived(c, depth));
    switch (n.type) {
      case "StringLiteral":
      case "IntegerLiteral":
      case "FloatLiteral":
        return true;
      case "Identifier": {
        const name = identName(n) ?? "";
        if (/^(?:true|false|none|True|False|None)$/.test(name)) return true;
        if (!this.#local.has(name) || this.#macros.has(name) || this.#constantsInProgress.has(name)) return false;
        const bound = this.#env.get(name) ?? [];
        if (bound.length === 0) return false;
        this.#constantsInProgress.add(name);
        try {
          return all(bound);
        } finally {
          this.#constantsInProgress.delete(name);
        }
      }
      case "ArrayLiteral":
      case "TupleLiteral":
        return all(nodes(n, "value"));
      case "ObjectLiteral": {
        const entries = n.value;
        if (!(entries instanceof Map)) return false;
        for (const [k, v] of entries) if (!isNode(k) || !isNode(v) || !all([k, v])) return false;
        return true;
      }
      case "KeywordArgumentExpression":
        return all([prop(n, "value")]);
      case "BinaryExpression":
        return all([prop(n, "left"), prop(n, "right")]);
      case "UnaryExpression":
        return all([prop(n, "argument")]);
      case "Ternary":
        return all([prop(n, "condition"), prop(n, "trueExpr"), prop(n, "falseExpr")]);
      case "FilterExpression": {
        const filter = prop(n, "filter");
        const args = filter?.type === "CallExpression" ? nodes(filter, "args") : [];
        return all([prop(n, "operand"), ...args]);
      }
      case "MemberExpression": {
        const property = prop(n, "property");
        if (property?.type === "SliceExpression") {
          const parts = ["start", "stop", "step"].map((k) => prop(property, k)).filter((p) => p !== undefined);
          return all([prop(n, "object"), ...parts]);
        }
        return all([prop(n, "object"), ...(n.computed === true ? [property] : [])]);
      }
      case "CallExpression": {
        const callee = prop(n, "callee");
        const args = nodes(n, "args");
        const global = identName(callee);
        if (global !== undefined) {
          return !this.#local.has(global) && /^(?:dict|range|lipsum)$/.test(global) && all(args);
        }
        return (
          callee?.type === "MemberExpression" && callee.computed !== true && all([prop(callee, "object"), ...args])
        );
      }
      case MG_ELEMENTS:
        return all([prop(n, "iterable")]);
      case MG_CONCAT:
        return all(nodes(n, "parts"));
      default:
        return false;
    }
  }

  /**
   * A name computed at render time used on a gadget: a subscript, or an attribute filter (`attr`,
   * or `groupby`/`sort`/`map(…)` ... named by `via`, which walk the attribute path on each item).
   */
  #reportDynamicOnRoot(root: Root, how: "subscript" | "attr() filter", via = "attr"): void {
    const strong = root.kind === "gadget";
    const what = strong ? `the global "${root.name}" (or an attribute chain from it)` : `a ${root.name}() object`;
    const filter = via === "attr" ? "attr() filter" : `${via} filter`;
    this.#findings.add(
      "template/dynamic-attribute",
      how === "subscript" ? `${root.name}${strong ? "" : "()"}[…]` : `${root.name}${strong ? "" : "()"}|${via}(…)`,
      `${how === "subscript" ? how : filter} of ${strong ? "gadget" : "gadget instance"}`,
      `${how === "subscript" ? "subscript" : filter} of ${what} by a name computed at render time`,
      strong ? "high" : undefined,
    );
  }

  /**
   * Whether an expression evaluates to a sandbox-escape gadget: a gadget global, an alias of one
   * (set, with, for, macro parameter), an attribute/subscript/call chain from one, or an object a
   * gadget constructor returned (`namespace(…)`, whose `__class__` stays reachable).
   */
  #rootOf(n: Node): Root | undefined {
    if (this.#roots.has(n)) return this.#roots.get(n);
    const aliases = this.#aliasRoots();
    const root = this.#rootExpr(n, 0, (name) => aliases.get(name));
    this.#roots.set(n, root);
    return root;
  }

  /**
   * The root of every variable that holds a gadget, however long the alias chain: each variable's
   * bindings are evaluated against the roots known so far, and re-evaluated when a variable they
   * read gets one (a worklist, linear in the bindings).
   */
  #aliasRoots(): ReadonlyMap<string, Root> {
    if (this.#aliases !== undefined) return this.#aliases;
    const roots = new Map<string, Root>();
    const dependents = new Map<string, Set<string>>();
    const queue = [...this.#env.keys()];
    let budget = 100_000;
    while (queue.length > 0 && budget-- > 0) {
      const name = queue.pop();
      if (name === undefined || roots.has(name)) continue;
      for (const b of this.#env.get(name) ?? []) {
        const r = this.#rootExpr(b, 0, (ref) => {
          const known = roots.get(ref);
          if (known === undefined) {
            const set = dependents.get(ref) ?? new Set<string>();
            set.add(name);
            dependents.set(ref, set);
          }
          return known;
        });
        if (r !== undefined) {
          roots.set(name, r);
          pushAll(queue, dependents.get(name) ?? []);
          break;
        }
      }
    }
    this.#aliases = roots;
    return roots;
  }

  /** Root of an expression; `resolve` answers for variables the template binds. */
  #rootExpr(n: Node, depth: number, resolve: (name: string) => Root | undefined): Root | undefined {
    if (depth > MAX_EVAL_DEPTH) return undefined;
    const rootOf = (child: Node) => this.#rootExpr(child, depth + 1, resolve);
    switch (n.type) {
      case "Identifier": {
        const name = identName(n) ?? "";
        if (!this.#local.has(name)) return CHAIN_ROOTS.has(name) ? { name, kind: "gadget" } : undefined;
        if (this.#macros.has(name)) return { name, kind: "gadget" };
        return resolve(name);
      }
      case "MemberExpression": {
        const object = prop(n, "object");
        const r = object === undefined ? undefined : rootOf(object);
        // `loop.previtem`, `loop.index`: the loop's data, not its internals.
        const property = n.computed === true ? undefined : identName(prop(n, "property"));
        if (r?.name === "loop" && property !== undefined && !property.startsWith("_")) return undefined;
        return r?.kind === "gadget" ? r : undefined;
      }
      case "CallExpression": {
        const callee = prop(n, "callee");
        const r = callee === undefined ? undefined : rootOf(callee);
        if (r === undefined || callee === undefined) return undefined;
        if (callee.type === "MemberExpression") return r.kind === "gadget" ? r : undefined;
        // A bare call: the constructors return objects; other gadgets return data.
        return r.kind === "gadget" && INSTANCE_GADGETS.has(r.name) ? { name: r.name, kind: "instance" } : undefined;
      }
      case "FilterExpression": {
        const filter = prop(n, "filter");
        const name = identName(filter) ?? identName(filter === undefined ? undefined : prop(filter, "callee"));
        const operand = prop(n, "operand");
        if (operand === undefined) return undefined;
        if (name === "attr" || name === "first" || name === "last" || name === "random") {
          const r = rootOf(operand);
          return r?.kind === "gadget" ? r : undefined;
        }
        return undefined;
      }
      case "ArrayLiteral":
      case "TupleLiteral":
        for (const el of nodes(n, "value")) {
          const r = rootOf(el);
          if (r !== undefined) return r;
        }
        return undefined;
      case "Ternary": {
        const a = prop(n, "trueExpr");
        const b = prop(n, "falseExpr");
        return (a && rootOf(a)) || (b && rootOf(b)) || undefined;
      }
      case "SelectExpression": {
        const lhs = prop(n, "lhs");
        return lhs === undefined ? undefined : rootOf(lhs);
      }
      case MG_ELEMENTS: {
        const iterable = prop(n, "iterable");
        return iterable === undefined ? undefined : rootOf(iterable);
      }
      default:
        return undefined;
    }
  }

  /**
   * Judges a filter's attribute-name argument; a name not known statically is dynamic-attribute,
   * high when the filter's operand is a gadget (or holds one: `[[m]]|map("groupby", p)`).
   */
  #attributeArgument(arg: Node | undefined, via: string, dotted = false, root?: Root, filter = "attr"): void {
    if (arg === undefined) return;
    const vals = this.#eval(arg);
    if (vals === undefined || vals.some((v) => typeof v.v !== "string" && typeof v.v !== "number")) {
      this.#findings.add("template/dynamic-attribute", via, via, `${via} takes a name computed at render time`);
      if (root !== undefined) this.#reportDynamicOnRoot(root, "attr() filter", filter);
      return;
    }
    for (const v of vals) {
      const s = String(v.v);
      for (const part of dotted ? s.split(".") : [s]) this.#checkName(part, via, v.built);
    }
  }

  #checkName(name: string, via: string, built: boolean): void {
    if (name === "") return;
    const f = this.#findings;
    if (DUNDER.test(name)) {
      f.add("template/dunder-access", name, via, `template accesses "${name}" (${via})`);
      if (built) f.add("template/obfuscated-name", name, `assembled ${via}`, `"${name}" is assembled from pieces`);
      return;
    }
    if (EXEC_MODULES.has(name) || FRAME_ATTRIBUTES.has(name)) {
      f.add("template/code-execution-name", name, via, `template accesses "${name}" (${via})`);
    } else if (name.startsWith("_")) {
      f.add("template/private-attribute", name, via, `template accesses private attribute "${name}" (${via})`);
    }
    if (built && execNameOf(name) !== undefined) {
      f.add("template/obfuscated-name", name, `assembled ${via}`, `"${name}" is assembled from pieces`);
    }
  }

  /** Any string built by an operation that spells a sensitive name. */
  #checkBuilt(n: Node): void {
    const vals = this.#eval(n);
    for (const v of vals ?? []) {
      if (!v.built || typeof v.v !== "string") continue;
      const name = escapeDunderIn(v.v) ?? execNameOf(v.v);
      if (name !== undefined) {
        this.#findings.add(
          "template/obfuscated-name",
          name,
          "assembled string",
          `a string is assembled into "${name}"`,
        );
      }
    }
  }

  #eval(n: Node, depth = 0): Val[] | undefined {
    if (this.#cache.has(n)) return this.#cache.get(n);
    if (depth > MAX_EVAL_DEPTH || this.#inProgress.has(n)) return undefined;
    this.#inProgress.add(n);
    let result: Val[] | undefined;
    try {
      result = this.#evalUncached(n, depth + 1);
    } catch {
      result = undefined;
    }
    this.#inProgress.delete(n);
    const capped = result === undefined ? undefined : capVals(result);
    this.#cache.set(n, capped);
    return capped;
  }

  #evalUncached(n: Node, depth: number): Val[] | undefined {
    switch (n.type) {
      case "StringLiteral":
        return typeof n.value === "string" ? [{ v: n.value, built: false }] : undefined;
      case "IntegerLiteral":
        return typeof n.value === "number" ? [{ v: n.value, built: false }] : undefined;
      case "FloatLiteral":
        // `1.0` is a float whose `str()` is "1.0": an integral float is not told apart from an int here.
        return typeof n.value === "number" && !Number.isInteger(n.value) ? [{ v: n.value, built: false }] : undefined;
      case "Identifier": {
        const name = identName(n) ?? "";
        if (name === "true" || name === "True") return [{ v: true, built: false }];
        if (name === "false" || name === "False") return [{ v: false, built: false }];
        if (name === "none" || name === "None") return [{ v: null, built: false }];
        const bound = this.#env.get(name);
        if (bound === undefined && !this.#local.has(name)) {
          // A variable the renderer passes (a special token from the same config).
          const given = this.#variables.get(name);
          return given === undefined ? undefined : [{ v: given, built: false }];
        }
        if (bound === undefined || this.#inProgress.has(name)) return undefined;
        this.#inProgress.add(name);
        try {
          const out: Val[] = [];
          for (const b of bound) {
            const vals = this.#eval(b, depth);
            // A one-shot iterator kept in a variable: each use sees what earlier uses left.
            if (vals === undefined || vals.some((v) => kindOf(v.v) === "iterator")) return undefined;
            pushAll(out, vals);
          }
          return out;
        } finally {
          this.#inProgress.delete(name);
        }
      }
      case "ArrayLiteral":
      case "TupleLiteral": {
        const items: Const[] = [];
        let built = false;
        for (const el of nodes(n, "value")) {
          const one = this.#evalOne(el, depth);
          if (one === undefined) return undefined;
          items.push(one.v);
          built ||= one.built;
        }
        return [{ v: seq(items, n.type === "TupleLiteral" ? "tuple" : undefined), built }];
      }
      case "ObjectLiteral":
        return this.#evalObject(n, depth);
      case MG_ELEMENTS: {
        // A `for` variable: each item the iterable yields.
        const iterable = prop(n, "iterable");
        const vals = iterable === undefined ? undefined : this.#eval(iterable, depth);
        if (vals === undefined) return undefined;
        const out: Val[] = [];
        for (const v of vals) {
          const items = pyIter(v.v);
          if (items === undefined) return undefined;
          if (out.length + items.length > MAX_VALUES) return undefined;
          for (const e of items) out.push({ v: e, built: v.built });
        }
        return out;
      }
      case MG_CONCAT: {
        // A block `{% set x %}…{% endset %}`: its text and expressions, concatenated. Text next to
        // tags has each form the renderers give it (`trim_blocks`/`lstrip_blocks` on or off).
        const parts = nodes(n, "parts").filter((p) => p.type !== "Comment");
        let texts = [""];
        let built = parts.length > 1;
        for (const part of parts) {
          const one = this.#evalOne(part, depth);
          const str = one === undefined ? undefined : pyStr(one.v);
          if (str === undefined || one === undefined) return undefined;
          const forms = part.type === "StringLiteral" ? whitespaceForms(str) : [str];
          texts = texts.flatMap((t) => forms.map((f) => t + f));
          if (texts.length > MAX_VALUES) return undefined;
          built ||= one.built;
        }
        return [...new Set(texts)].map((v) => ({ v, built }));
      }
      case "Ternary": {
        const a = this.#eval(prop(n, "trueExpr") ?? n, depth);
        const b = this.#eval(prop(n, "falseExpr") ?? n, depth);
        return a === undefined || b === undefined ? undefined : [...a, ...b];
      }
      case "SelectExpression": {
        const lhs = prop(n, "lhs");
        return lhs === undefined ? undefined : this.#eval(lhs, depth);
      }
      case "BinaryExpression":
        return this.#binary(n, depth);
      case "FilterExpression":
        return this.#evalFilter(n, depth);
      case "MemberExpression":
        return this.#evalMember(n, depth);
      case "CallExpression":
        return this.#evalCall(n, depth);
      default:
        return undefined;
    }
  }

  #binary(n: Node, depth: number): Val[] | undefined {
    const op = (n.operator as { value?: unknown } | undefined)?.value;
    const left = prop(n, "left");
    const right = prop(n, "right");
    if (left === undefined || right === undefined || typeof op !== "string") return undefined;
    const a = this.#eval(left, depth);
    const b = this.#eval(right, depth);
    if (a === undefined || b === undefined) return undefined;
    return product(a, b, (x, y) => {
      const r = binaryOp(op, x, y);
      // `0.5 + 0.5` is the float 1.0, whose `str()` is not an int's.
      if (typeof r === "number" && Number.isInteger(r) && !(Number.isInteger(x) && Number.isInteger(y)))
        return undefined;
      return r;
    });
  }

  #evalFilter(n: Node, depth: number): Val[] | undefined {
    const operand = prop(n, "operand");
    const filter = prop(n, "filter");
    if (operand === undefined || filter === undefined) return undefined;
    const name = identName(filter) ?? identName(prop(filter, "callee"));
    if (name === undefined) return undefined;
    const argNodes = filter.type === "CallExpression" ? nodes(filter, "args") : [];
    const vals = this.#eval(operand, depth);
    const call = this.#evalArgs(argNodes, depth);
    if (vals === undefined || call === undefined) return undefined;
    const out: Val[] = [];
    for (const v of vals) {
      const r = name === "map" ? mapFilter(v.v, call.args) : applyFilter(name, v.v, call.args);
      if (r === undefined) return undefined;
      out.push({ v: r, built: builtBy(r, v, call.built) });
    }
    return out;
  }

  /** An expression's value when it has exactly one (arguments, indexes, list items). */
  #evalOne(n: Node, depth: number): Val | undefined {
    const vals = this.#eval(n, depth);
    return vals?.length === 1 ? vals[0] : undefined;
  }

  /** Call arguments, each with a single known value; undefined otherwise. */
  #evalArgs(argNodes: readonly Node[], depth: number): { args: CallArgs; built: boolean } | undefined {
    const positional: Const[] = [];
    const keyword = new Map<string, Const>();
    let built = false;
    for (const a of argNodes) {
      const kw = a.type === "KeywordArgumentExpression";
      const key = kw ? identName(prop(a, "key")) : undefined;
      const valueNode = kw ? prop(a, "value") : a;
      const v = valueNode === undefined ? undefined : this.#evalOne(valueNode, depth);
      if (v === undefined || (kw && (key === undefined || keyword.has(key)))) return undefined;
      if (key !== undefined) keyword.set(key, v.v);
      else if (keyword.size > 0) return undefined;
      else positional.push(v.v);
      built ||= v.built;
    }
    return { args: { positional, keyword }, built };
  }

  /** `{'k': v, …}`: keys must fold; values are kept when they do. */
  #evalObject(n: Node, depth: number): Val[] | undefined {
    const entries = n.value;
    if (!(entries instanceof Map)) return undefined;
    const dict: (readonly [Const, Const | undefined])[] = [];
    let built = false;
    for (const [k, v] of entries) {
      if (!isNode(k)) return undefined;
      const first = this.#evalOne(k, depth);
      if (first === undefined) return undefined;
      const value = isNode(v) ? this.#evalOne(v, depth) : undefined;
      if (!dictSet(dict, first.v, value?.v)) return undefined;
      built ||= first.built;
      if (dict.length > MAX_RANGE) return undefined;
    }
    return [{ v: { dict }, built }];
  }

  /** Calls of the global constructors that build names: `dict(k=…)`, `range(…)`. */
  #evalGlobalCall(name: string, n: Node, depth: number): Val[] | undefined {
    if (this.#local.has(name)) return undefined;
    const args = nodes(n, "args");
    if (name === "dict") {
      const dict: (readonly [Const, Const | undefined])[] = [];
      let built = false;
      for (const a of args) {
        if (a.type === "KeywordArgumentExpression") {
          const key = identName(prop(a, "key"));
          const valueNode = prop(a, "value");
          if (key === undefined) return undefined;
          const value = valueNode === undefined ? undefined : this.#evalOne(valueNode, depth);
          dictSet(dict, key, value?.v);
          continue;
        }
        // dict(other, k=…): the other mapping's entries first.
        const first = this.#evalOne(a, depth);
        if (first === undefined || !isDict(first.v) || dict.length > 0) return undefined;
        for (const [k, v] of first.v.dict) if (!dictSet(dict, k, v)) return undefined;
        built ||= first.built;
      }
      return [{ v: { dict }, built }];
    }
    if (name === "range") {
      const nums: number[] = [];
      for (const a of args) {
        const v = a.type === "KeywordArgumentExpression" ? undefined : this.#eval(a, depth);
        const x = v?.length === 1 ? v[0]?.v : undefined;
        if (typeof x !== "number" || !Number.isInteger(x)) return undefined;
        nums.push(x);
      }
      const [a = 0, b, c = 1] = nums;
      const [start, stop] = nums.length === 1 ? [0, a] : [a, b ?? 0];
      if (nums.length === 0 || nums.length > 3 || c === 0) return undefined;
      const count = Math.max(0, Math.ceil((stop - start) / c));
      if (count > MAX_RANGE) return undefined;
      return [
        {
          v: seq(
            Array.from({ length: count }, (_, i) => start + i * c),
            "range",
          ),
          built: false,
        },
      ];
    }
    return undefined;
  }

  #evalMember(n: Node, depth: number): Val[] | undefined {
    const object = prop(n, "object");
    const property = prop(n, "property");
    if (object === undefined || property === undefined) return undefined;
    const base = this.#eval(object, depth);
    if (base === undefined) return undefined;
    if (n.computed !== true) {
      // `d.k` on a dict: Jinja falls back to the item.
      const key = identName(property);
      const out: Val[] = [];
      for (const b of base) {
        // A dict's own attributes (`d.items`, `d.keys`) come before its items.
        const r = key === undefined || !isDict(b.v) || DICT_ATTRIBUTES.has(key) ? undefined : dictGet(b.v, key);
        if (r === undefined) return undefined;
        out.push({ v: r, built: b.built });
      }
      return out;
    }
    if (property.type === "SliceExpression") {
      const num = (key: string): number | undefined | null => {
        const p = prop(property, key);
        if (p === undefined) return null;
        const v = this.#evalOne(p, depth)?.v;
        return v === null ? null : typeof v === "number" ? v : undefined;
      };
      const start = num("start");
      const stop = num("stop");
      const step = num("step");
      if (start === undefined || stop === undefined || step === undefined) return undefined;
      const out: Val[] = [];
      for (const b of base) {
        const r = pySlice(b.v, start, stop, step);
        if (r === undefined) return undefined;
        out.push({ v: r, built: true });
      }
      return out;
    }
    const index = this.#evalOne(property, depth)?.v;
    if (index === undefined) return undefined;
    const out: Val[] = [];
    for (const b of base) {
      if (isDict(b.v)) {
        const r = dictGet(b.v, index);
        if (r === undefined) return undefined;
        out.push({ v: r, built: b.built });
        continue;
      }
      const el = typeof index === "number" ? pyIndex(b.v, index) : undefined;
      if (el === undefined) return undefined;
      out.push({ v: el, built: b.built });
    }
    return out;
  }

  #evalCall(n: Node, depth: number): Val[] | undefined {
    const callee = prop(n, "callee");
    const global = identName(callee);
    if (global !== undefined) return this.#evalGlobalCall(global, n, depth);
    if (callee?.type !== "MemberExpression" || callee.computed === true) return undefined;
    const method = identName(prop(callee, "property"));
    const object = prop(callee, "object");
    if (method === undefined || object === undefined) return undefined;
    const base = this.#eval(object, depth);
    const call = this.#evalArgs(nodes(n, "args"), depth);
    if (base === undefined || call === undefined) return undefined;
    const argsBuilt = call.built;
    const first = call.args.positional[0];
    const out: Val[] = [];
    for (const b of base) {
      const r = applyMethod(method, b.v, call.args);
      if (r === undefined) return undefined;
      // `''.join([...])`: the items are what is selected from.
      const from = method === "join" ? { v: first ?? [], built: argsBuilt } : b;
      out.push({
        v: r,
        built: builtBy(r, from, method === "join" ? false : argsBuilt) || (method === "join" && b.v !== ""),
      });
    }
    return out;
  }
}

/** A binary operator on two constants, as Python computes it; undefined when not modelled. */
function binaryOp(op: string, x: Const, y: Const): Const | undefined {
  if (op === "~") {
    const sx = pyStr(x);
    const sy = pyStr(y);
    return sx === undefined || sy === undefined ? undefined : sx + sy;
  }
  if (op === "+") {
    if (typeof x === "string" && typeof y === "string") return x + y;
    if (typeof x === "number" && typeof y === "number") return x + y;
    const kind = kindOf(x);
    if ((kind === "list" || kind === "tuple") && kindOf(y) === kind) {
      return seq([...(x as readonly Const[]), ...(y as readonly Const[])], kind === "tuple" ? "tuple" : undefined);
    }
    return undefined;
  }
  if (op === "*") {
    if (typeof x === "string" && typeof y === "number" && Number.isInteger(y) && x.length * y <= MAX_VALUE_LENGTH) {
      return x.repeat(Math.max(0, y));
    }
    if (typeof x === "number" && typeof y === "number") return x * y;
    return undefined;
  }
  if (op === "%") return typeof x === "string" ? pyPercent(x, y) : undefined;
  return undefined;
}

/**
 * The forms a text part of a block `set` takes: as written, and with what `trim_blocks` (the
 * newline after a block tag) and `lstrip_blocks` (spaces and tabs before a block tag on its line)
 * remove, which llama-cpp-python and transformers both enable and plain Jinja does not.
 */
function whitespaceForms(text: string): string[] {
  const noNewline = text.startsWith("\n") ? text.slice(1) : text;
  const forms = new Set([text, noNewline]);
  for (const t of [text, noNewline]) {
    const lineStart = t.lastIndexOf("\n") + 1;
    if (/^[ \t]*$/.test(t.slice(lineStart))) forms.add(t.slice(0, lineStart));
  }
  return [...forms];
}

/** Role of the child stored under `key` of node `n` (itself in role `role`). */
function roleOf(n: Node, key: string, role: string): string {
  switch (n.type) {
    case "MemberExpression":
      if (key === "property") return n.computed === true ? "ref" : "property";
      return key === "object" ? "object" : "ref";
    case "KeywordArgumentExpression":
      return key === "key" ? "kwkey" : "ref";
    case "Set":
      return key === "assignee" ? "binding" : key === "body" ? "text" : "ref";
    case "For":
      return key === "loopvar" ? "binding" : key === "body" || key === "defaultBlock" ? "text" : "ref";
    case "Macro":
      return key === "name" || key === "args" ? "binding" : key === "body" ? "text" : "ref";
    case "CallStatement":
      return key === "callerArgs" ? "binding" : key === "body" ? "text" : "ref";
    case "FilterExpression":
    case "FilterStatement":
      return key === "filter" ? "filterslot" : key === "body" ? "text" : "ref";
    case "CallExpression":
      if (key === "callee") return role === "filterslot" ? "filtername" : "callee";
      return "ref";
    case "TestExpression":
      return key === "test" ? "test" : "ref";
    case "Program":
      return "text";
    case "If":
      return key === "test" ? "ref" : "text";
    default:
      return "ref";
  }
}

/** Attributes of a Python dict, which Jinja's `d.name` finds before the item `name`. */
const DICT_ATTRIBUTES: ReadonlySet<string> = new Set([
  "keys",
  "values",
  "items",
  "get",
  "pop",
  "popitem",
  "update",
  "copy",
  "clear",
  "setdefault",
  "fromkeys",
]);

/** Synthetic node: the items a `for` loop's iterable yields. */
const MG_ELEMENTS = "MgElements";
/** Synthetic node: the text and expressions of a block `{% set %}`, concatenated. */
const MG_CONCAT = "MgConcat";

/**
 * Whether a folded result counts as assembled: a string that is its operand or one of the items
 * the operand yields (a list element, a dict key, one character) was selected, and keeps the
 * operand's flag; anything else an operation produced is assembled.
 */
function builtBy(r: Const, from: Val, argsBuilt: boolean): boolean {
  if (from.built || argsBuilt) return true;
  if (typeof r === "string") return !isSelected(r, from.v);
  if (Array.isArray(r)) return r.some((e) => typeof e === "string" && !isSelected(e, from.v));
  return false;
}

function capVals(vals: Val[]): Val[] | undefined {
  const out: Val[] = [];
  for (const v of vals) {
    if (typeof v.v === "string" && v.v.length > MAX_VALUE_LENGTH) return undefined;
    out.push(v);
    // More possible values than are followed: unknown, rather than some of them silently dropped.
    if (out.length > MAX_VALUES) return undefined;
  }
  return out;
}

function product(a: Val[], b: Val[], f: (x: Const, y: Const) => Const | undefined): Val[] | undefined {
  const out: Val[] = [];
  for (const x of a) {
    for (const y of b) {
      const r = f(x.v, y.v);
      if (r === undefined) return undefined;
      out.push({ v: r, built: true });
      if (out.length > MAX_VALUES) return undefined;
    }
  }
  return out;
}

/** Escape dunders as a list (for documentation and tests). */
export const TEMPLATE_ESCAPE_DUNDERS: readonly string[] = [...ESCAPE_DUNDERS];
