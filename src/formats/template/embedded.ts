/**
 * Jinja templates embedded in configuration documents (JSON, YAML), whatever the file's name.
 *
 * Chat templates are not only where transformers reads them (`tokenizer_config.json`): loaders,
 * serving stacks and remote code take them from `config.json`, `config.yaml`, a nested
 * `model.custom_chat_template`, a `prompt_template`, and render them with Jinja. Every string of a
 * document is looked at:
 *
 * - under a key whose name contains `template` (any case, any depth, list items included: the
 *   `[{name, template}]` shape of transformers too), a string holding a Jinja delimiter is a
 *   template: analysed as the tokenizer config's are, with the same severities;
 * - elsewhere, a string that looks like Jinja (`{% ... %}` or `{{ ... }}`) is analysed too, but
 *   plain placeholders (`{{ question }}`, GitHub's `${{ matrix.os }}`) are everyday config text:
 *   findings there are reported (with their severity) when the template reaches Python internals
 *   (a dunder, a name-mangled private attribute, an obfuscated name, a computed name on a gadget)
 *   or uses one of Jinja's gadget globals; the rest (`os` as an attribute, Flask's `config`, a
 *   parse failure) are not: they cannot run code the token-level scan would not have reported.
 *
 * The walk is iterative and budgeted (steps, candidate strings, templates and characters
 * analysed); what a budget leaves unanalysed is reported (`scan/budget-exceeded`), never dropped.
 * The template analysis itself loads with the first candidate met.
 * @module
 */
import type { FindingInput } from "../../core/findings.js";
import { JsonObject, type JsonValue } from "../../core/json.js";
import { preview } from "../../core/preview.js";
import type { Severity } from "../../core/severity.js";

/** What a reader says a node is. */
export type TreeVisit<N> =
  | { readonly kind: "text"; readonly text: string }
  | { readonly kind: "collection"; readonly entries: Iterable<readonly [key: string | number | undefined, child: N]> }
  | { readonly kind: "alias"; readonly target: N | undefined }
  | { readonly kind: "other" };

/** Reads the nodes of a parsed document (JSON values, YAML nodes). */
export interface TreeReader<N> {
  /**
   * What a node is. Called once per node in document order; `replay` is set when the node is
   * walked again through an alias (a YAML reader records anchors only on the first walk).
   */
  visit(node: N, replay: boolean): TreeVisit<N>;
}

/** Budgets of the embedded-template search of one file. */
export interface EmbeddedBudgets {
  /** Nodes visited. */
  readonly maxSteps: number;
  /** Distinct candidate strings kept for analysis. */
  readonly maxCandidates: number;
  /** Templates analysed under a template key. */
  readonly maxKeyed: number;
  /** Characters of templates analysed under a template key. */
  readonly maxKeyedChars: number;
  /** Strings analysed that only look like templates. */
  readonly maxLoose: number;
  /** Characters of such strings analysed. */
  readonly maxLooseChars: number;
}

/** Default budgets: real configs hold a handful of templates. */
export const EMBEDDED_BUDGETS: EmbeddedBudgets = Object.freeze({
  maxSteps: 20_000_000,
  maxCandidates: 20_000,
  maxKeyed: 256,
  maxKeyedChars: 16 * 1024 * 1024,
  maxLoose: 1024,
  maxLooseChars: 4 * 1024 * 1024,
});

/** One string to analyse. */
interface Candidate {
  readonly text: string;
  /** Path in the document (`model.custom_chat_template`, `chat_template[0].template`). */
  where: string;
  /** Under a template key (else it only looks like a template). */
  keyed: boolean;
}

/** A node waiting to be walked. */
interface Pending<N> {
  readonly node: N;
  readonly key: string | number | undefined;
  readonly parent: Pending<N> | undefined;
  /** Under a key whose name contains `template`. */
  readonly keyed: boolean;
  /** Walked again through an alias. */
  readonly replay: boolean;
}

/** Whether a key names a template (`chat_template`, `custom_chat_template`, `prompt_template`, `template`). */
export function isTemplateKey(key: string): boolean {
  return /template/i.test(key);
}

/** Whether a string under a template key can render anything but itself (holds a Jinja delimiter). */
function hasDelimiter(text: string): boolean {
  return text.includes("{{") || text.includes("{%");
}

/**
 * Whether a string looks like a Jinja template: a statement opener `{%`, or an expression
 * `{{ ... }}` that closes.
 * @param text - candidate
 */
export function looksLikeJinja(text: string): boolean {
  if (text.includes("{%")) return true;
  const open = text.indexOf("{{");
  return open >= 0 && text.indexOf("}}", open + 2) >= 0;
}

/** Path of a pending node, from the root (keys cut, at most the last 12 levels). */
function pathOf<N>(entry: Pending<N>): string {
  const parts: string[] = [];
  for (let e: Pending<N> | undefined = entry; e !== undefined && e.parent !== undefined; e = e.parent) {
    if (parts.length >= 12) {
      parts.push("…");
      break;
    }
    parts.push(typeof e.key === "number" ? `[${e.key}]` : e.key === undefined ? "[?]" : preview(e.key, 60));
  }
  let out = "";
  for (let i = parts.length - 1; i >= 0; i--) {
    const p = parts[i]!;
    out += p.startsWith("[") || out === "" ? p : `.${p}`;
  }
  return out === "" ? "(document)" : out;
}

/** Template strings collected from one file's documents, under budgets. */
export class EmbeddedTemplates {
  readonly #budgets: EmbeddedBudgets;
  readonly #candidates = new Map<string, Candidate>();
  /** Texts analysed elsewhere (the tokenizer config's own `chat_template`). */
  readonly #known: ReadonlySet<string>;
  #steps = 0;
  /** Candidates past `maxCandidates`: how many, and whether any was under a template key. */
  #dropped = 0;
  #droppedKeyed = false;
  /** Set when the walk stopped at `maxSteps`. */
  #stopped = false;

  /**
   * @param known - texts already analysed as templates (not analysed again)
   * @param budgets - budgets
   */
  constructor(known: ReadonlySet<string> = new Set(), budgets: EmbeddedBudgets = EMBEDDED_BUDGETS) {
    this.#known = known;
    this.#budgets = budgets;
  }

  /**
   * Walks a document and keeps its template strings.
   * @param root - the document's root node
   * @param reader - how to read its nodes
   * @param checkpoint - abort/timeout check
   */
  collect<N>(root: N, reader: TreeReader<N>, checkpoint?: () => void): void {
    const stack: Pending<N>[] = [{ node: root, key: undefined, parent: undefined, keyed: false, replay: false }];
    // collections already walked through an alias under a template key (each at most once more)
    const replayed = new Set<N>();
    while (stack.length > 0) {
      if (++this.#steps > this.#budgets.maxSteps) {
        this.#stopped = true;
        return;
      }
      if ((this.#steps & 0xfff) === 0) checkpoint?.();
      const entry = stack.pop()!;
      const seen = reader.visit(entry.node, entry.replay);
      if (seen.kind === "text") this.#consider(seen.text, entry);
      else if (seen.kind === "alias") {
        // An alias stands for its anchor's node. Under a template key it is read as a template
        // there, whatever the key where the anchor is defined (walked there in its own right).
        const target = seen.target;
        if (target === undefined || !entry.keyed || replayed.has(target)) continue;
        replayed.add(target);
        stack.push({ ...entry, node: target, replay: true });
      } else if (seen.kind === "collection") {
        const children: Pending<N>[] = [];
        for (const [key, child] of seen.entries) {
          const keyed = entry.keyed || (typeof key === "string" && isTemplateKey(key));
          children.push({ node: child, key, parent: entry, keyed, replay: entry.replay });
        }
        for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]!);
      }
    }
  }

  #consider<N>(text: string, entry: Pending<N>): void {
    const keyed = entry.keyed;
    if (!(keyed ? hasDelimiter(text) : looksLikeJinja(text))) return;
    if (this.#known.has(text)) return;
    const had = this.#candidates.get(text);
    if (had !== undefined) {
      // the same text under a template key is judged as a template
      if (keyed && !had.keyed) {
        had.keyed = true;
        had.where = pathOf(entry);
      }
      return;
    }
    if (this.#candidates.size >= this.#budgets.maxCandidates) {
      this.#dropped++;
      if (keyed) this.#droppedKeyed = true;
      return;
    }
    this.#candidates.set(text, { text, where: pathOf(entry), keyed });
  }

  /**
   * Analyses the strings kept (those under template keys first) and reports their findings,
   * then what the budgets left out.
   * @param report - the context's `report`
   * @param options - checkpoint, and the template variables the renderer passes (special tokens)
   */
  async report(
    report: (finding: FindingInput) => void,
    options: {
      readonly checkpoint?: (() => void) | undefined;
      readonly variables?: ReadonlyMap<string, string> | undefined;
    },
  ): Promise<void> {
    const all = [...this.#candidates.values()];
    const ordered = [...all.filter((c) => c.keyed), ...all.filter((c) => !c.keyed)];
    const left = {
      keyed: { n: this.#budgets.maxKeyed, chars: this.#budgets.maxKeyedChars },
      loose: { n: this.#budgets.maxLoose, chars: this.#budgets.maxLooseChars },
    };
    const skipped = { n: this.#dropped, chars: 0, keyed: this.#droppedKeyed };
    if (ordered.length > 0) {
      const { reportTemplate } = await import("./report.js");
      for (const c of ordered) {
        const budget = c.keyed ? left.keyed : left.loose;
        if (budget.n <= 0 || budget.chars < c.text.length) {
          skipped.n++;
          skipped.chars += c.text.length;
          if (c.keyed) skipped.keyed = true;
          continue;
        }
        budget.n--;
        budget.chars -= c.text.length;
        if (c.keyed) {
          reportTemplate(report, c.text, { where: c.where }, options.checkpoint, options.variables);
          continue;
        }
        const found: FindingInput[] = [];
        reportTemplate((f) => found.push(f), c.text, { where: c.where }, options.checkpoint, options.variables);
        for (const f of judgeLoose(found)) report(f);
      }
    }
    if (skipped.n > 0 || this.#stopped) {
      const b = this.#budgets;
      report({
        ruleId: "scan/budget-exceeded",
        message: this.#stopped
          ? `the search for embedded templates stopped after ${b.maxSteps} values: the rest of the document was not searched`
          : `${skipped.n} more string(s)${skipped.chars > 0 ? ` (${skipped.chars} characters)` : ""} that ${skipped.keyed ? "are or look like" : "look like"} Jinja templates were not analysed (budget: ${b.maxKeyed} templates under template keys, ${b.maxLoose} others, ${b.maxCandidates} distinct strings)`,
        evidence: {
          budget: this.#stopped ? "template.embeddedSteps" : "template.embeddedTemplates",
          notAnalysed: skipped.n,
          underTemplateKey: skipped.keyed,
        },
      });
    }
  }
}

/** Rules that mean the template reaches Python internals, wherever it is found. */
const ESCAPE_RULES: ReadonlySet<string> = new Set([
  "template/dunder-access",
  "template/obfuscated-name",
  "template/dunder-string",
]);

/** Whether a finding shows the way out of Jinja (so that the template is an attack). */
function isEscape(f: FindingInput): boolean {
  if (ESCAPE_RULES.has(f.ruleId)) return true;
  const severity: Severity | undefined = f.severity;
  // a computed name on a gadget (`namespace[k]`) is reported high; a plain `x|attr(y)` medium
  if (f.ruleId === "template/dynamic-attribute") return severity === "high" || severity === "critical";
  // name-mangled attributes (`self._TemplateReference__context`), not a record's `_id`
  if (f.ruleId === "template/private-attribute") return String(f.evidence?.name ?? "").includes("__");
  return false;
}

/**
 * Jinja's own globals that exploits start from (a renderer gives them to any template); Flask's
 * (`request`, `config`, `url_for`) are plain variables elsewhere, common placeholder names.
 */
const JINJA_GADGETS: ReadonlySet<string> = new Set([
  "lipsum",
  "cycler",
  "joiner",
  "namespace",
  "self",
  "range",
  "dict",
]);

/**
 * The findings of a string that only looks like a template (no template key names it): all of
 * them when one shows an escape; otherwise only uses of Jinja's gadget globals. Placeholders such
 * as GitHub's `${{ runner.os }}`, `{{ config.name }}` or `{{ doc._id }}`, includes and parse
 * failures (Go's `{{ .Prompt }}`) are ordinary config text, not reported.
 * @param found - what the template analysis reported
 */
export function judgeLoose(found: readonly FindingInput[]): FindingInput[] {
  if (found.some(isEscape)) return [...found];
  return found.filter(
    (f) => f.ruleId === "template/gadget-reference" && JINJA_GADGETS.has(String(f.evidence?.name ?? "")),
  );
}

/** Reads parsed JSON ({@link JsonValue}): objects by `items()` (no key map is built). */
export const JSON_READER: TreeReader<JsonValue> = {
  visit(node) {
    if (typeof node === "string") return { kind: "text", text: node };
    if (node instanceof JsonObject) return { kind: "collection", entries: node.items() };
    if (Array.isArray(node)) return { kind: "collection", entries: node.entries() };
    return { kind: "other" };
  },
};

/**
 * Finds and analyses the templates of a parsed JSON document.
 * @param report - the context's `report`
 * @param root - the document
 * @param options - checkpoint, special-token variables, texts already analysed
 */
export async function reportJsonTemplates(
  report: (finding: FindingInput) => void,
  root: JsonValue,
  options: {
    readonly checkpoint?: (() => void) | undefined;
    readonly variables?: ReadonlyMap<string, string> | undefined;
    readonly known?: ReadonlySet<string> | undefined;
    readonly budgets?: EmbeddedBudgets | undefined;
  } = {},
): Promise<void> {
  const templates = new EmbeddedTemplates(options.known, options.budgets);
  templates.collect(root, JSON_READER, options.checkpoint);
  await templates.report(report, options);
}
