/**
 * The template module: Jinja chat templates (files, and templates found in configs, GGUF
 * metadata and safetensors metadata), analysed without rendering.
 *
 * Detection: content detection for Jinja templates, used by the sniffer.
 * @module
 */
import { type FormatModule, lazyAnalyzer, lazyRules } from "../../core/module.js";

/**
 * Whether text opens with a Jinja delimiter (`{{`, `{%`, `{#`). No JSON document starts this way,
 * so a template is not mistaken for JSON because both begin with `{`.
 * @param text - the text, leading whitespace and BOM already removed
 */
export function startsLikeJinja(text: string): boolean {
  return /^\{[{%#]/.test(text);
}

/**
 * Extensions of files a renderer takes as templates by name (transformers reads
 * `chat_template.jinja` and `additional_chat_templates/*.jinja` as text).
 */
export const TEMPLATE_EXTENSIONS: ReadonlySet<string> = new Set(["jinja", "j2", "jinja2"]);

declare module "../../core/formats.js" {
  interface FormatRegistry {
    jinja: true;
  }
}

const rules = lazyRules(import.meta.url, "./rules.js", "templateRules");

/** Jinja templates. */
export const templateModule = {
  name: "template",
  formats: [{ id: "jinja", description: "Jinja template", textual: true, hintExtensions: ["jinja", "txt", "md"] }],
  analyzers: [lazyAnalyzer("jinja", ["jinja"], async () => (await import("./analyzer.js")).jinjaAnalyzer)],
  get rules() {
    return rules();
  },
} as const satisfies FormatModule;
