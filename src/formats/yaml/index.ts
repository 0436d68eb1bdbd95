/**
 * The YAML module: YAML documents (hparams, hydra/omegaconf configs, NeMo configs, conda
 * environments). The text detector recognises them (by name, or by content only YAML has); the
 * analyzer reports what a loader would construct or call.
 *
 * Detection: recognising YAML among text: by name (`*.yaml`, `*.yml`), or by content that only YAML has (a
 * `%YAML` directive, a `---` document of `key: value` lines, PyYAML python tags). The text
 * detector (`../text/index.ts`) calls these, so JSON, Python, shell, Jinja and prose keep their
 * formats.
 * @module
 */
import type { Detection } from "../../core/formats.js";
import { type FormatModule, lazyAnalyzer, lazyRules } from "../../core/module.js";

/** Extensions that name YAML. */
export const YAML_EXTENSIONS: ReadonlySet<string> = new Set(["yaml", "yml"]);

/** Documentation, where python tags are discussed rather than loaded. */
const DOC_EXTENSIONS: ReadonlySet<string> = new Set(["md", "markdown", "rst", "html", "htm", "py", "ipynb"]);

/** Lines of a block-style YAML document (comments, markers, keys, list items, indented text). */
const YAML_LINE = /^(?:\s*#.*|---.*|\.\.\.\s*|\s*-(?:\s.*)?|\s*[^\s#:][^#:]*?:(?:\s.*)?|\s+\S.*|\s*)$/;
/** A `key: value` or list item line. */
const KEY_LINE = /^\s*(?:-\s|[^\s#:][^#:]*?:(?:\s|$))/m;

/** Whether every line of the text (the first 500) looks like block YAML. */
function allYamlLines(text: string): boolean {
  const lines = text.split("\n", 500);
  if (lines.length === 500 && text.length > 0) lines.pop(); // may be cut
  return lines.every((l) => YAML_LINE.test(l.replace(/\r$/, "")));
}

const PYTHON_TAG_TEXT = /!!python(?:\/|%2f)|tag:yaml\.org,2002:python|^%TAG[ \t]/im;

/**
 * Whether a text holds a PyYAML python tag, a `%TAG` directive, or a tag whose %-escapes decode to
 * one (a loader decodes escapes anywhere in a tag, verbatim `!<...>` tags included).
 * @param text - the text
 */
export function hasPythonTagText(text: string): boolean {
  if (PYTHON_TAG_TEXT.test(text)) return true;
  if (!/%[0-9a-fA-F]{2}/.test(text)) return false;
  return PYTHON_TAG_TEXT.test(
    text.replace(/%([0-9a-fA-F]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16))),
  );
}

/**
 * YAML by its python tags, whatever else the text looks like: `yaml.load` runs a tagged node at
 * the top level, in flow style or after a shebang comment, so neither a `key:` line nor the
 * absence of Python or Jinja syntax may be required. The analyzer tells tags from prose.
 * @param trimmed - the text, BOM and leading blanks removed
 * @param ext - the lowercase extension
 */
export function detectYamlByPythonTag(trimmed: string, ext: string): Detection | undefined {
  if (DOC_EXTENSIONS.has(ext) || !hasPythonTagText(trimmed)) return undefined;
  return { format: "yaml", offset: 0, reason: "YAML with python tags" };
}

/**
 * YAML by name.
 * @param ext - the lowercase extension
 */
export function detectYamlByName(ext: string): Detection | undefined {
  return YAML_EXTENSIONS.has(ext) ? { format: "yaml", offset: 0, reason: `.${ext} name` } : undefined;
}

/**
 * YAML by content, for names that do not say otherwise.
 * @param trimmed - the text, BOM and leading blanks removed
 * @param ext - the lowercase extension
 */
export function detectYamlByContent(trimmed: string, ext: string): Detection | undefined {
  if (DOC_EXTENSIONS.has(ext)) return undefined;
  if (/^%YAML[ \t]+1\.\d/.test(trimmed)) return { format: "yaml", offset: 0, reason: "%YAML directive" };
  if (ext === "" && /^---[ \t]*\r?\n/.test(trimmed) && KEY_LINE.test(trimmed) && allYamlLines(trimmed)) {
    return { format: "yaml", offset: 0, reason: "YAML document" };
  }
  return undefined;
}

declare module "../../core/formats.js" {
  interface FormatRegistry {
    yaml: true;
  }
}

const rules = lazyRules(import.meta.url, "./rules.js", "yamlRules");

/** YAML documents. */
export const yamlModule = {
  name: "yaml",
  formats: [{ id: "yaml", description: "YAML document", textual: true, hintExtensions: ["yaml", "yml"] }],
  analyzers: [lazyAnalyzer("yaml", ["yaml"], async () => (await import("./analyzer.js")).yamlAnalyzer)],
  get rules() {
    return rules();
  },
} as const satisfies FormatModule;
